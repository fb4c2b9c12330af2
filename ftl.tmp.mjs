import { Sim } from '/work/main/dist/src/sim/index.js'
import { pino } from 'pino'
import { Writable } from 'node:stream'
const events = []
const sink = new Writable({ write (chunk, enc, cb) { for (const l of chunk.toString().split('\n')) if (l) { const d = JSON.parse(l); if (d.component === 'councils' || d.msg === 'roster committed') events.push(d) } cb() } })
const base = pino({ level: 'debug', timestamp: pino.stdTimeFunctions.epochTime }, sink)
const logger = { child: (b) => base.child(b) }
const rolesOf = (i) => i < 3 ? ['tpm'] : i < 6 ? ['senior-software-architect'] : i < 10 ? ['coder'] : [i % 2 === 0 ? 'tester' : 'reviewer']
const sim = await Sim.start({ agents: 34, roles: rolesOf, overrides: { heartbeatMs: 500, deadAfterMs: 1500, pingTimeoutMs: 500 }, logger })
while (sim.convergedCount() < 34) await new Promise(r => setTimeout(r, 100))
await new Promise(r => setTimeout(r, 3000))
const res = []
for (let r = 0; r < Number(process.env.ROUNDS ?? 6); r++) {
  events.length = 0
  const t0 = Date.now()
  const id = await sim.agents[10 + r].councils.open({ project: 'p' + r, coreRoles: ['tpm', 'senior-software-architect'], optionalRoles: ['coder'] })
  while (Date.now() - t0 < 10000) {
    if (sim.agents.every(a => a.councils.get(id)?.state === 'active')) break
    await new Promise(r => setTimeout(r, 5))
  }
  const rel = (d) => d.time - t0
  const committed = events.filter(e => e.msg === 'roster committed').map(rel).sort((a, b) => a - b)
  const direct = events.filter(e => e.msg?.startsWith('direct ack failed')).length
  res.push(committed.at(-1))
  console.log(JSON.stringify({ r, coordQuorum: events.filter(e => e.msg?.startsWith('a majority') && e.publish).map(rel), applyP50: committed[committed.length >> 1], applyMax: committed.at(-1), n: committed.length, directFailed: direct }))
  await sim.agents[10 + r].councils.dissolve(id)
  await new Promise(r => setTimeout(r, 2000))
}
res.sort((a, b) => a - b); console.log('median applyMax', res[res.length >> 1])
await sim.stop(); process.exit(0)
