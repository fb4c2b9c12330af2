import { Agent } from '../../agent/index.js'
import { ensureDataDir, loadConfig, type LoadedConfig } from '../../config/index.js'
import { createLogger } from '../../logger/index.js'
import { EXIT_FAILURE, EXIT_OK } from '../exit.js'
import { reportStartupError } from '../startup-errors.js'

/** Shutdown must finish within this: the process exits within 5 s of SIGTERM. */
const SHUTDOWN_DEADLINE_MS = 4_500

/** `conclave start`: one agent in the foreground until SIGTERM/SIGINT. */
export async function startCommand(flags: Record<string, string | undefined>): Promise<number> {
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
    // Leave through process.exit: a hung shutdown, or a timer a behaviour module left running,
    // must not keep the process alive after SIGTERM.
    const exit = (code: number): void => {
      logger.flush()
      resolve(code)
      process.exit(code)
    }
    const shutdown = (signal: string): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without finishing shutdown')
        exit(EXIT_FAILURE)
        return
      }
      stopping = true
      logger.info({ signal }, 'shutting down')
      const deadline = setTimeout(() => {
        logger.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time')
        exit(EXIT_FAILURE)
      }, SHUTDOWN_DEADLINE_MS)
      agent.stop().then(
        () => {
          clearTimeout(deadline)
          exit(EXIT_OK)
        },
        (err: Error) => {
          clearTimeout(deadline)
          logger.error({ err: err.message }, 'shutdown failed')
          exit(EXIT_FAILURE)
        }
      )
    }
    process.on('SIGTERM', () => {
      shutdown('SIGTERM')
    })
    process.on('SIGINT', () => {
      shutdown('SIGINT')
    })
  })
}
