import { Sim } from '../../src/sim/index.js'
const sim = await Sim.start({ agents: 34, overrides: { maxConnections: Number(process.env.XCAP ?? 8), heartbeatBudget: Number(process.env.XBUDGET ?? 5) } })
await new Promise(r => setTimeout(r, 8000))
const snap = async (): Promise<Record<string, number>> => {
  const out: Record<string, number> = {}
  for (const a of sim.agents) {
    const t = await a.metrics.registry.metrics()
    for (const l of t.split('\n')) {
      const m = /^(libp2p_data_transfer_bytes_total\{protocol="[^"]+ sent"\}|conclave_gossip_messages_total\{[^}]*\}|libp2p_protocol_streams_total\{[^}]*\}|libp2p_connection_manager_dials_total\{[^}]*\}) (\d+)/.exec(l)
      if (m != null) out[m[1] as string] = (out[m[1] as string] ?? 0) + Number(m[2])
    }
  }
  return out
}
const before = await snap()
await new Promise(r => setTimeout(r, 5000))
const after = await snap()
for (const k of Object.keys(after)) { const d = (after[k] ?? 0) - (before[k] ?? 0); if (d > 0) console.log((d / 5).toFixed(0) + '/s', k) }
await sim.stop()
