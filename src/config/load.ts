import { randomBytes } from 'node:crypto'
import { rm, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { makeDirectory } from '../util/fs.js'
import { ENV_PREFIX } from './constants.js'
import { ConfigError, type ConfigProblem } from './errors.js'
import { OPTIONS, type OptionSpec } from './options.js'
import type { AgentConfig } from './types.js'

export interface LoadConfigInit {
  /** Environment to read `CONCLAVE_*` variables from. */
  env?: NodeJS.ProcessEnv
  /** Raw flag values keyed by long flag name (`listen`, `data-dir`, …); they win over env. */
  flags?: Record<string, string | undefined>
  /**
   * Env var names outside the agent table that the caller accepts (a command's own settings).
   *
   * @default []
   */
  extraEnv?: string[]
}

export interface LoadedConfig {
  config: AgentConfig
  /** Where each setting came from: `--listen`, `CONCLAVE_LISTEN` or `default`. */
  sources: Record<keyof AgentConfig, string>
}

const KNOWN_ENV = new Set(OPTIONS.map(o => o.env))

/** A name that is valid for CONCLAVE_NAME even when the host name is not. */
function defaultName(): string {
  const cleaned = hostname()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64)
  return cleaned.length > 0 ? cleaned : `agent-${randomBytes(3).toString('hex')}`
}

function pick(spec: OptionSpec, init: LoadConfigInit): { raw: string | undefined; source: string } {
  const flag = init.flags?.[spec.flag]
  if (flag !== undefined) return { raw: flag, source: `--${spec.flag}` }
  const env = init.env?.[spec.env]
  if (env !== undefined) return { raw: env, source: spec.env }
  return { raw: spec.default, source: 'default' }
}

/**
 * Resolve the agent configuration. Throws `ConfigError` listing every problem at once, each
 * named by the env var or flag that caused it.
 */
export function loadConfig(init: LoadConfigInit = {}): LoadedConfig {
  const env = init.env ?? {}
  const problems: ConfigProblem[] = []
  const extra = new Set(init.extraEnv ?? [])
  for (const name of Object.keys(env)) {
    if (name.startsWith(ENV_PREFIX) && !KNOWN_ENV.has(name) && !extra.has(name)) {
      problems.push({ source: name, message: 'unknown variable (see docs/reference/configuration.md)' })
    }
  }

  const config: Record<string, unknown> = {}
  const sources: Record<string, string> = {}
  for (const spec of OPTIONS) {
    const { raw, source } = pick(spec, { ...init, env })
    sources[spec.key] = source
    if (raw === undefined) continue
    const result = spec.schema.safeParse(raw)
    if (result.success) {
      config[spec.key] = result.data
    } else {
      const label = source === 'default' ? spec.env : source
      for (const issue of result.error.issues) problems.push({ source: label, message: issue.message })
    }
  }
  if (config.name === undefined) config.name = defaultName()
  if (problems.length > 0) throw new ConfigError(problems)
  config.dataDir = resolve(config.dataDir as string)
  if (typeof config.identity === 'string') config.identity = resolve(config.identity)
  return { config: config as unknown as AgentConfig, sources: sources as Record<keyof AgentConfig, string> }
}

/** The flag or variable to blame for a setting, for error messages raised after loading. */
export function blame(loaded: LoadedConfig, key: keyof AgentConfig): string {
  const source = loaded.sources[key]
  if (source !== 'default') return source
  return OPTIONS.find(o => o.key === key)?.env ?? key
}

/** Create the data dir if needed and prove it is writable; `ConfigError` naming the source otherwise. */
export async function ensureDataDir(loaded: LoadedConfig): Promise<void> {
  const dir = loaded.config.dataDir
  const probe = join(dir, `.write-test-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    await makeDirectory(dir)
    await writeFile(probe, '')
    await rm(probe, { force: true })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw ConfigError.single(blame(loaded, 'dataDir'), `data dir ${dir} is not writable (${code})`)
  }
}
