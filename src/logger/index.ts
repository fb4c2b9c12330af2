/**
 * One structured logger for the whole runtime. Library code receives a `Logger` and never
 * writes to the console itself; the CLI decides the format (JSON when stdout is not a TTY).
 */
import { pino } from 'pino'
import type { Logger as PinoLogger, LevelWithSilent } from 'pino'

export type Logger = PinoLogger
export type LogLevel = LevelWithSilent

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export interface LoggerInit {
  /**
   * Minimum level written.
   *
   * @default 'info'
   */
  level?: LogLevel
  /**
   * Human-readable lines instead of JSON.
   *
   * @default process.stdout.isTTY
   */
  pretty?: boolean
  /**
   * Fields added to every line (for example the agent name).
   *
   * @default {}
   */
  base?: Record<string, unknown>
  /**
   * File descriptor to write to. Logs go to stderr so that stdout stays free for command output.
   *
   * @default 2
   */
  fd?: number
}

export function createLogger(init: LoggerInit = {}): Logger {
  const pretty = init.pretty ?? process.stdout.isTTY === true
  const fd = init.fd ?? 2
  const options = {
    level: init.level ?? 'info',
    base: init.base ?? {},
    timestamp: pino.stdTimeFunctions.isoTime
  }
  if (pretty) {
    return pino(
      options,
      pino.transport({
        target: 'pino-pretty',
        options: { destination: fd, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }
      })
    )
  }
  return pino(options, pino.destination({ fd, sync: true }))
}

/** A logger that drops everything; the default for library users who pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
