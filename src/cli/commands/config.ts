import { ensureDataDir, loadConfig, type LoadedConfig } from '../../config/index.js'
import { EXIT_OK, reportStartupError } from '../exit.js'

/** `conclave config`: validate and print the resolved configuration (exit 2 on any problem). */
export async function configCommand (flags: Record<string, string | undefined>): Promise<number> {
  let loaded: LoadedConfig | undefined
  try {
    loaded = loadConfig({ env: process.env, flags })
    await ensureDataDir(loaded)
  } catch (err) {
    return reportStartupError(err, loaded)
  }
  process.stdout.write(JSON.stringify({ config: loaded.config, sources: loaded.sources }, null, 2) + '\n')
  return EXIT_OK
}
