import type { Command } from 'commander'
import { OPTIONS } from '../config/index.js'

/** Add every agent setting as `--flag <value>`; the env var is named in the help text. */
export function addAgentOptions(command: Command): Command {
  for (const spec of OPTIONS) {
    command.option(`--${spec.flag} <value>`, `${spec.description} [${spec.env}]`)
  }
  return command
}

/** Raw flag values keyed by long flag name, as `loadConfig` expects them. */
export function agentFlags(opts: Record<string, unknown>): Record<string, string | undefined> {
  const flags: Record<string, string | undefined> = {}
  for (const spec of OPTIONS) {
    const key = spec.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
    const value = opts[key]
    if (typeof value === 'string') flags[spec.flag] = value
  }
  return flags
}
