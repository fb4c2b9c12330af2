import { Session } from 'node:inspector/promises'
import { writeFileSync } from 'node:fs'
import { Sim } from '../../src/sim/index.js'
const sim = await Sim.start({ agents: 34, overrides: { maxConnections: Number(process.env.XCAP ?? 8), heartbeatBudget: Number(process.env.XBUDGET ?? 5) } })
await new Promise(r => setTimeout(r, Number(process.env.XWAIT ?? 8000)))
const s = new Session(); s.connect()
await s.post('Profiler.enable'); await s.post('Profiler.start')
await new Promise(r => setTimeout(r, 5000))
const { profile } = await s.post('Profiler.stop')
writeFileSync('/tmp/prof/steady.cpuprofile', JSON.stringify(profile))
await sim.stop()
