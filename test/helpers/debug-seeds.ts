import { Sim } from '../../src/sim/index.js'
import { createLogger } from '../../src/logger/index.js'
const logger = createLogger({ level: 'info', pretty: false })
const sim = await Sim.start({ agents: 34, logger, overrides: { maxConnections: 8, heartbeatBudget: 5 } })
await new Promise(r => setTimeout(r, 5000))
await sim.stop()
