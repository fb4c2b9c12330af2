import { Sim } from '../../src/sim/index.js'
const n = Number(process.argv[2] ?? 34)
const sim = await Sim.start({ agents: n })
await new Promise(r => setTimeout(r, Number(process.argv[3] ?? 8000)))
const text = await sim.agents[5]!.metrics.registry.metrics()
console.log(text.split('\n').filter(l => !l.startsWith('#') && /stream|conclave|dial|connections|protocol|gossipsub_(topic_msg|msg_rec|rpc)/.test(l) && !/ 0$/.test(l)).slice(0, 80).join('\n'))
await sim.stop()
