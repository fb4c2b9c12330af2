import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Sim } from '../../src/sim/index.js'
const n = Number(process.argv[2] ?? 34)
const t0 = Date.now()
const h = monitorEventLoopDelay({ resolution: 10 }); h.enable()
let cpu = process.cpuUsage()
const sim = await Sim.start({ agents: n })
console.log('started in', Date.now() - t0)
let opened = 0, closed = 0, inb = 0
const reasons: Record<string, number> = {}
for (const a of sim.agents) a.membership.onChange(c => { const k = `${c.previous ?? 'new'}->${c.state}:${c.reason}`; reasons[k] = (reasons[k] ?? 0) + 1 })
for (const a of sim.agents) {
  a.node.addEventListener('connection:open', (e: any) => { opened++; if (e.detail.direction === 'inbound') inb++ })
  a.node.addEventListener('connection:close', () => { closed++ })
}
for (let i = 0; i < Number(process.argv[3] ?? 15); i++) {
  await new Promise(r => setTimeout(r, 1000))
  const alive = sim.agents.map(a => a.membership.peers().filter(p => p.state === 'alive').length)
  const conns = sim.agents.map(a => a.node.getConnections().length)
  let msgIn = 0, msgOut = 0
  for (const a of sim.agents) {
    const m = await (a.metrics.registry.getSingleMetric('conclave_gossip_messages_total') as any).get()
    for (const v of m.values) { if (v.labels.direction === 'in') msgIn += v.value; else msgOut += v.value }
  }
  console.log('msgs in', msgIn, 'out', msgOut)
  const c = process.cpuUsage(cpu); cpu = process.cpuUsage()
  console.log(Date.now() - t0, 'conv', sim.convergedCount(), 'cpu%', Math.round((c.user + c.system) / 10000), 'lag p99', Math.round(h.percentile(99) / 1e6), 'max', Math.round(h.max / 1e6), 'alive min/med', Math.min(...alive), [...alive].sort((a, b) => a - b)[alive.length >> 1], 'suspect', sim.agents.reduce((n, a) => n + a.membership.peers().filter(p => p.state === 'suspect').length, 0), 'dead', sim.agents.reduce((n, a) => n + a.membership.peers().filter(p => p.state === 'dead').length, 0), 'conns', conns.reduce((x, y) => x + y, 0))
  console.log('  reasons', JSON.stringify(reasons)); for (const k of Object.keys(reasons)) delete reasons[k]
  console.log('  opened', opened, 'inbound', inb, 'closed', closed); opened = 0; closed = 0; inb = 0
  console.log('  isolated', sim.agents.map((a, i) => [i, alive[i], conns[i]]).filter(x => (x[1] as number) < 3).map(x => x.join(':')).join(' '))
  h.reset()
  if (sim.convergedCount() === n) break
}
await sim.stop()
