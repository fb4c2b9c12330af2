import { ApiTokenError } from '../access/index.js'
import { BehaviourError, DataDirInUseError } from '../agent/index.js'
import { HttpListenError } from '../api/index.js'
import { MemoryStoreError } from '../memory/index.js'
import { blame, ConfigError, type LoadedConfig } from '../config/index.js'
import { IdentityError, ListenError } from '../node/index.js'
import { CredentialError } from '../tenancy/index.js'

import { EXIT_CONFIG, EXIT_FAILURE } from './exit.js'

/** Start-up failures caused by configuration, named after the variable or flag to fix. */
export function asConfigError(err: unknown, loaded: LoadedConfig): ConfigError | undefined {
  if (err instanceof ConfigError) return err
  if (err instanceof ListenError) return ConfigError.single(blame(loaded, 'listen'), err.message)
  if (err instanceof HttpListenError) return ConfigError.single(blame(loaded, 'http'), err.message)
  if (err instanceof IdentityError) {
    return ConfigError.single(blame(loaded, loaded.config.identity !== undefined ? 'identity' : 'dataDir'), err.message)
  }
  if (err instanceof CredentialError) return ConfigError.single(blame(loaded, 'credentials'), err.message)
  if (err instanceof BehaviourError) return ConfigError.single(blame(loaded, 'behaviour'), err.message)
  if (err instanceof DataDirInUseError) return ConfigError.single(blame(loaded, 'dataDir'), err.message)
  if (err instanceof ApiTokenError) return ConfigError.single(blame(loaded, 'dataDir'), err.message)
  if (err instanceof MemoryStoreError) return ConfigError.single(blame(loaded, 'dataDir'), err.message)
  return undefined
}

/** Print a start-up error and return the exit code. */
export function reportStartupError(err: unknown, loaded?: LoadedConfig): number {
  const configError = err instanceof ConfigError ? err : loaded !== undefined ? asConfigError(err, loaded) : undefined
  if (configError !== undefined) {
    for (const p of configError.problems) process.stderr.write(`conclave: ${p.source}: ${p.message}\n`)
    return EXIT_CONFIG
  }
  process.stderr.write(`conclave: ${(err as Error).message ?? String(err)}\n`)
  return EXIT_FAILURE
}
