import { loadBehaviours } from '../../agent/index.js'
import { ensureDataDir, loadConfig, type LoadedConfig } from '../../config/index.js'
import { EXIT_OK, reportStartupError } from '../exit.js'

/** Settings printed as `***`: they are secrets. */
const SECRET_KEYS = ['llmApiKey'] as const

/** `conclave config`: validate and print the resolved configuration (exit 2 on any problem). */
export async function configCommand (flags: Record<string, string | undefined>): Promise<number> {
  let loaded: LoadedConfig | undefined
  try {
    loaded = loadConfig({ env: process.env, flags })
    await ensureDataDir(loaded)
    // The behaviour modules must load, as they must for `conclave start`.
    await loadBehaviours(loaded.config)
  } catch (err) {
    return reportStartupError(err, loaded)
  }
  const shown: Record<string, unknown> = { ...loaded.config }
  for (const key of SECRET_KEYS) if (shown[key] !== undefined) shown[key] = '***'
  process.stdout.write(JSON.stringify({ config: shown, sources: loaded.sources }, null, 2) + '\n')
  return EXIT_OK
}
