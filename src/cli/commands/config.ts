import { access } from 'node:fs/promises'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadBehaviours } from '../../agent/index.js'
import { ensureDataDir, loadConfig, type AgentConfig, type LoadedConfig } from '../../config/index.js'
import { identityPath, readIdentity } from '../../node/index.js'
import { CredentialError, loadTenants } from '../../tenancy/index.js'
import { EXIT_OK } from '../exit.js'
import { reportStartupError } from '../startup-errors.js'

/** Settings printed as `***`: they are secrets. */
const SECRET_KEYS = ['llmApiKey', 'apiToken'] as const

/**
 * The identity `conclave start` would run with, when it exists already: the configured key file
 * (which must exist), else `<data dir>/identity.key` if a previous start created it.
 */
async function existingIdentity(config: AgentConfig): Promise<string | undefined> {
  if (config.identity !== undefined) return peerIdFromPrivateKey(await readIdentity(config.identity)).toString()
  const path = identityPath(config.dataDir)
  try {
    await access(path)
  } catch {
    return undefined
  }
  return peerIdFromPrivateKey(await readIdentity(path)).toString()
}

/** `conclave config`: validate and print the resolved configuration (exit 2 on any problem). */
export async function configCommand(flags: Record<string, string | undefined>): Promise<number> {
  let loaded: LoadedConfig | undefined
  try {
    loaded = loadConfig({ env: process.env, flags })
    const { config } = loaded
    await ensureDataDir(loaded)
    // The behaviour modules must load, as they must for `conclave start`.
    await loadBehaviours(config)
    // Identity and credentials are checked as `conclave start` checks them, so that a mounted
    // secret in the wrong place fails here, before a deployment rolls out.
    const peerId = await existingIdentity(config)
    if (peerId !== undefined) {
      await loadTenants({
        credentials: config.credentials,
        peerId,
        requireTenant: config.requireTenant,
        roles: [...new Set([...config.roles, ...config.singletons])],
        dataDir: config.dataDir
      })
    } else if (config.credentials.length > 0) {
      throw new CredentialError(
        config.credentials[0] as string,
        `no identity yet in ${config.dataDir}: a credential is bound to a peer id, so create the key first (conclave keygen) and issue the credential for it`
      )
    }
  } catch (err) {
    return reportStartupError(err, loaded)
  }
  const shown: Record<string, unknown> = { ...loaded.config }
  for (const key of SECRET_KEYS) if (shown[key] !== undefined) shown[key] = '***'
  process.stdout.write(JSON.stringify({ config: shown, sources: loaded.sources }, null, 2) + '\n')
  return EXIT_OK
}
