import { Sim } from '../../src/sim/index.js'
for (let round = 0; round < 5; round++) {
  const sim = await Sim.start({ agents: 5, overrides: { heartbeatMs: 300 } })
  while (sim.convergedCount() < 5) await new Promise(r => setTimeout(r, 50))
  const leaver = sim.agents[2]!
  const conns = sim.agents.map(a => a.node.getConnections().length)
  const meshes = sim.agents.map(a => (a.node.services.pubsub as any).getMeshPeers('/conclave/1/default/presence').length)
  const subs = leaver.node.services.pubsub.getSubscribers('/conclave/1/default/presence').length
  const res = await leaver.node.services.pubsub.publish('/conclave/1/default/presence', new TextEncoder().encode('{}'))
  await sim.stopAgent(leaver)
  await new Promise(r => setTimeout(r, 2000))
  const states = sim.agents.filter(a => a !== leaver).map(a => a.membership.peers().find(p => p.peerId === leaver.peerId)?.state)
  console.log('round', round, 'conns', conns.join(','), 'mesh', meshes.join(','), 'leaver subs', subs, 'test publish recipients', res.recipients.length, 'states', states.join(','))
  await sim.stop()
}
