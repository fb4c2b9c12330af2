import { Agent } from '../../agent/index.js'
import { ensureDataDir, loadConfig, type LoadedConfig } from '../../config/index.js'
import { createLogger } from '../../logger/index.js'
import { EXIT_FAILURE, EXIT_OK, reportStartupError } from '../exit.js'

/** Shutdown must finish within this (the issue promises exit within 5 s of SIGTERM). */
const SHUTDOWN_DEADLINE_MS = 4_500

/** `conclave start`: one agent in the foreground until SIGTERM/SIGINT. */
export async function startCommand (flags: Record<string, string | undefined>): Promise<number> {
  let loaded: LoadedConfig | undefined
  let agent: Agent
  try {
    loaded = loadConfig({ env: process.env, flags })
    await ensureDataDir(loaded)
  } catch (err) {
    return reportStartupError(err, loaded)
  }
  const { config } = loaded
  const logger = createLogger({ level: config.logLevel, base: { agent: config.name } })
  try {
    agent = await Agent.start(config, { logger })
  } catch (err) {
    logger.flush()
    return reportStartupError(err, loaded)
  }
  // The link carries a one-time code, not the token: it signs one browser in, once.
  process.stderr.write(`conclave: dashboard (this link signs you in once): ${agent.loginUrl()}\n`)

  return await new Promise<number>(resolve => {
    let stopping = false
    const shutdown = (signal: string): void => {
      if (stopping) return
      stopping = true
      logger.info({ signal }, 'shutting down')
      const deadline = setTimeout(() => {
        logger.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time')
        logger.flush()
        resolve(EXIT_FAILURE)
      }, SHUTDOWN_DEADLINE_MS)
      agent.stop().then(() => {
        clearTimeout(deadline)
        logger.flush()
        resolve(EXIT_OK)
      }, (err: Error) => {
        clearTimeout(deadline)
        logger.error({ err: err.message }, 'shutdown failed')
        resolve(EXIT_FAILURE)
      })
    }
    process.once('SIGTERM', () => { shutdown('SIGTERM') })
    process.once('SIGINT', () => { shutdown('SIGINT') })
  })
}
