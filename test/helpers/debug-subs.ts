import { Sim } from '../../src/sim/index.js'
const sim = await Sim.start({ agents: 5, overrides: { heartbeatMs: 300 } })
while (sim.convergedCount() < 5) await new Promise(r => setTimeout(r, 50))
for (const t of [0, 3000]) {
  await new Promise(r => setTimeout(r, t))
  for (const a of sim.agents) {
    const ps = a.node.services.pubsub as any
    const connected = new Set(a.node.getConnections().map(c => c.remotePeer.toString()))
    const subs = a.node.services.pubsub.getSubscribers('/conclave/1/default/presence').map(String)
    const streamsOut = ps.streamsOutbound?.size, streamsIn = ps.streamsInbound?.size, peers = ps.peers?.size
    console.log(t, a.config.name, 'connected', connected.size, 'subs', subs.length, 'gs peers', peers, 'out', streamsOut, 'in', streamsIn, 'mesh', ps.getMeshPeers('/conclave/1/default/presence').length, 'protocols', [...new Set(a.node.getConnections().flatMap(c => c.streams.map(s => s.protocol)))].join(' '))
  }
}
await sim.stop()
