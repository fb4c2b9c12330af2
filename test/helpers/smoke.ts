import { Sim } from '../../src/sim/index.js'
const t0 = Date.now()
const sim = await Sim.start({ agents: Number(process.argv[2] ?? 5) })
console.log('started', Date.now() - t0)
while (sim.convergedCount() < sim.agents.length) {
  await new Promise(r => setTimeout(r, 100))
  if (Date.now() - t0 > 30000) break
}
console.log('converged', sim.convergedCount(), Date.now() - t0, 'ms')
const r = await fetch(sim.agents[0]!.url + '/v1/peers'); console.log(((await r.json()) as unknown[]).length)
await sim.stop()
console.log('stopped', Date.now() - t0)
