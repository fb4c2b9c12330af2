/**
 * Joining tenants at start-up: credential files are read and checked against the agent's own
 * peer id, and the latest tenant state each tenant had is read back from the data dir.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeSecretFile } from '../util/fs.js'
import { issueCredential, readCredentialFile, type CredentialFile, type TenantFile } from './authority.js'
import { DEFAULT_CREDENTIAL_TTL_MS } from './constants.js'
import { admits, readCredentialClaims, verifyCredential } from './credential.js'
import { CredentialError } from './errors.js'
import { TenantKeyring } from './keyring.js'
import { DEFAULT_TENANT } from './namespace.js'
import { tenantStateSchema, type TenantState } from './state.js'

export interface LoadTenantsOptions {
  /** Credential files (`CONCLAVE_CREDENTIALS`). */
  credentials: string[]
  /** This agent's peer id: every credential must be bound to it. */
  peerId: string
  /** Refuse to run without a credential (`CONCLAVE_REQUIRE_TENANT`). */
  requireTenant?: boolean
  /** Roles this agent announces (`CONCLAVE_ROLES`): every credential must grant them. */
  roles?: string[]
  /** Where tenant states are kept between restarts. */
  dataDir?: string
  now?: number
}

/** Check one credential file for this agent; throws `CredentialError` naming the problem. */
export async function checkCredentialFile(
  path: string,
  peerId: string,
  roles: string[] = [],
  now = Date.now()
): Promise<{ file: CredentialFile; keyring: TenantKeyring }> {
  const file = await readCredentialFile(path, reason => new CredentialError(path, reason))
  const inside = readCredentialClaims(file.credential)
  if (inside === undefined) throw new CredentialError(path, explain('malformed-credential'))
  // The file defines the tenant for this agent: its authority is the one the credential names.
  const claims = await verifyCredential(file.credential, inside.tenant, inside.authority)
  if (typeof claims === 'string') throw new CredentialError(path, explain(claims))
  const problem = admits(claims, { peer: peerId, now, revoked: new Set(), roles })
  if (problem === 'wrong-peer') {
    throw new CredentialError(
      path,
      `issued for peer ${claims.peer}, but this agent is ${peerId} (issue one with \`conclave tenant issue --peer ${peerId}\`)`
    )
  }
  if (problem === 'role-not-granted') {
    throw new CredentialError(
      path,
      `grants roles ${claims.roles.join(',')} of tenant ${claims.tenant}, not all of ${roles.join(',')} (CONCLAVE_ROLES)`
    )
  }
  if (problem !== undefined) {
    throw new CredentialError(
      path,
      `${explain(problem)} (valid ${new Date(claims.notBefore).toISOString()} to ${new Date(claims.notAfter).toISOString()})`
    )
  }
  const keyring = await TenantKeyring.fromCredential(file, claims, peerId, now)
  if (keyring.selfRevoked) throw new CredentialError(path, `this agent was revoked from tenant ${claims.tenant}`)
  return { file, keyring }
}

function explain(problem: string): string {
  switch (problem) {
    case 'malformed-credential':
      return 'the credential inside is malformed'
    case 'bad-credential-signature':
      return 'the signature does not match the tenant authority'
    case 'expired':
      return 'expired'
    case 'not-yet-valid':
      return 'not valid yet'
    default:
      return problem
  }
}

/**
 * The keyrings an agent runs with: one per credential, or the open `default` tenant when there
 * are none (unless `requireTenant`).
 */
export async function loadTenants(opts: LoadTenantsOptions): Promise<TenantKeyring[]> {
  const rings: TenantKeyring[] = []
  for (const path of opts.credentials) {
    const { keyring } = await checkCredentialFile(path, opts.peerId, opts.roles, opts.now)
    if (rings.some(r => r.tenant === keyring.tenant)) {
      throw new CredentialError(path, `a second credential for tenant ${keyring.tenant}`)
    }
    if (opts.dataDir !== undefined) {
      const saved = await readSavedState(opts.dataDir, keyring.tenant)
      if (saved !== undefined) await keyring.applyState(saved, opts.now)
      if (keyring.selfRevoked) throw new CredentialError(path, `this agent was revoked from tenant ${keyring.tenant}`)
    }
    rings.push(keyring)
  }
  if (rings.length === 0) {
    if (opts.requireTenant === true) {
      throw new CredentialError(
        '(none)',
        'CONCLAVE_REQUIRE_TENANT is set but no credential was given (CONCLAVE_CREDENTIALS)'
      )
    }
    rings.push(TenantKeyring.open(DEFAULT_TENANT, opts.peerId))
  }
  return rings
}

function statePath(dataDir: string, tenant: string): string {
  return join(dataDir, 'tenants', `${tenant}.state.json`)
}

/** The tenant state saved by `saveState`, if any and readable (a corrupt file is ignored: peers resend it). */
export async function readSavedState(dataDir: string, tenant: string): Promise<TenantState | undefined> {
  try {
    const parsed = tenantStateSchema.safeParse(JSON.parse(await readFile(statePath(dataDir, tenant), 'utf8')))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}

export async function saveState(dataDir: string, tenant: string, state: TenantState): Promise<void> {
  await writeSecretFile(statePath(dataDir, tenant), JSON.stringify(state) + '\n')
}

/**
 * Issue a credential for `peerId` and hold it in memory, as `conclave sim` does for its agents:
 * the same checks as a credential file, without the file.
 */
export async function issueKeyring(
  file: TenantFile,
  peerId: string,
  roles: string[] = [],
  ttlMs = DEFAULT_CREDENTIAL_TTL_MS
): Promise<{ file: TenantFile; keyring: TenantKeyring }> {
  const issued = await issueCredential(file, { peer: peerId, roles, ttlMs })
  const claims = await verifyCredential(issued.credential.credential, file.tenant, file.authority)
  if (typeof claims === 'string') throw new CredentialError('(in memory)', claims)
  return { file: issued.file, keyring: await TenantKeyring.fromCredential(issued.credential, claims, peerId) }
}
