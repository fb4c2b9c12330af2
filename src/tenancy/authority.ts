/**
 * The tenant authority: the offline side of tenancy that `conclave tenant create|issue|revoke|rotate`
 * drives. Its file holds the authority's private key, the current group key, and a register of
 * the credentials issued (with each member's key-wrapping key), so that a rotation can seal the
 * new group key for every member still admitted and for nobody else.
 */
import { readFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { fromString, toString } from 'uint8arrays'
import { z } from 'zod'
import { writeSecretFile } from '../util/fs.js'
import { ANY_ROLE } from './constants.js'
import { credentialSchema, type Credential, type CredentialClaims } from './credential.js'
import { randomKey } from './crypto.js'
import { TenantFileError } from './errors.js'
import { isValidTenantId } from './namespace.js'
import { signDocument } from './signed.js'
import { sealGroupKey, tenantStateSchema, type TenantState, type TenantStateClaims } from './state.js'
import { encodeToken, SCOPES, type Scope, type TokenClaims } from './token.js'

const b64 = z.string().min(1).max(4096)

export const tenantFileSchema = z.object({
  v: z.literal(1),
  tenant: z.string().refine(isValidTenantId, 'invalid tenant id'),
  /** The authority's private key (libp2p protobuf, base64). */
  authorityKey: b64,
  /** The authority's raw public key (base64): what members check signatures against. */
  authority: b64,
  epoch: z.number().int().positive(),
  groupKey: b64,
  members: z.array(
    z.object({
      peer: z.string().min(1).max(128),
      credentialId: z.string().min(1).max(64),
      memberKey: b64,
      roles: z.array(z.string()),
      notAfter: z.number().int()
    })
  ),
  revoked: z.array(z.string()),
  /** API tokens issued (`tenant token`), so that `tenant revoke --token` can name them. */
  tokens: z
    .array(
      z.object({
        id: z.string().min(1).max(64),
        scope: z.enum(SCOPES),
        name: z.string().optional(),
        notAfter: z.number().int()
      })
    )
    .optional(),
  /** Ids of the API tokens revoked (cumulative). */
  revokedTokens: z.array(z.string()).optional(),
  state: tenantStateSchema.optional()
})
export type TenantFile = z.infer<typeof tenantFileSchema>

/** What an agent needs to join a tenant: the credential it presents and the secrets it keeps. */
export const credentialFileSchema = z.object({
  v: z.literal(1),
  credential: credentialSchema,
  /** This member's key-wrapping key: unseals group keys of later epochs from tenant states. */
  memberKey: b64,
  /** Group key of `epoch`, current when the credential was issued. */
  epoch: z.number().int().positive(),
  groupKey: b64,
  /** The tenant's latest state at issue time, so revocations are known from the first start. */
  state: tenantStateSchema.optional()
})
export type CredentialFile = z.infer<typeof credentialFileSchema>

export async function createTenant(tenant: string): Promise<TenantFile> {
  if (!isValidTenantId(tenant)) {
    throw new TenantFileError(tenant, 'a tenant id is 1-64 of a-z, 0-9, ".", "_", "-", starting with a letter or digit')
  }
  const key = await generateKeyPair('Ed25519')
  return {
    v: 1,
    tenant,
    authorityKey: toString(privateKeyToProtobuf(key), 'base64'),
    authority: toString(key.publicKey.raw, 'base64'),
    epoch: 1,
    groupKey: toString(randomKey(), 'base64'),
    members: [],
    revoked: []
  }
}

function authorityKey(file: TenantFile): PrivateKey {
  return privateKeyFromProtobuf(fromString(file.authorityKey, 'base64'))
}

export interface IssueOptions {
  peer: string
  /** Roles granted; empty or absent grants every role. */
  roles?: string[]
  ttlMs: number
  now?: number
}

/** Issue a credential for `peer`; returns it and the tenant file with the credential registered. */
export async function issueCredential(
  file: TenantFile,
  opts: IssueOptions
): Promise<{ file: TenantFile; credential: CredentialFile }> {
  try {
    peerIdFromString(opts.peer)
  } catch {
    throw new TenantFileError(
      file.tenant,
      `"${opts.peer}" is not a peer id (run \`conclave keygen\` on the agent to get it)`
    )
  }
  if (file.revoked.includes(opts.peer)) throw new TenantFileError(file.tenant, `peer ${opts.peer} is revoked`)
  const now = opts.now ?? Date.now()
  const roles = opts.roles === undefined || opts.roles.length === 0 ? [ANY_ROLE] : [...new Set(opts.roles)]
  const claims: CredentialClaims = {
    v: 1,
    id: toString(randomBytes(12), 'base64url'),
    tenant: file.tenant,
    authority: file.authority,
    peer: opts.peer,
    roles,
    notBefore: now,
    notAfter: now + opts.ttlMs
  }
  const credential: Credential = await signDocument('credential', claims, authorityKey(file))
  const memberKey = toString(randomKey(), 'base64')
  const members = file.members.filter(m => m.peer !== opts.peer)
  members.push({ peer: opts.peer, credentialId: claims.id, memberKey, roles, notAfter: claims.notAfter })
  return {
    file: { ...file, members },
    credential: {
      v: 1,
      credential,
      memberKey,
      epoch: file.epoch,
      groupKey: file.groupKey,
      ...(file.state !== undefined ? { state: file.state } : {})
    }
  }
}

export interface TokenOptions {
  scope: Scope
  ttlMs: number
  /** A label for operators. */
  name?: string
  now?: number
}

/**
 * Issue an API token of the tenant; returns the token string and the tenant file with the token
 * registered (its id, scope, name and expiry; not the token itself).
 */
export async function issueApiToken(
  file: TenantFile,
  opts: TokenOptions
): Promise<{ file: TenantFile; token: string; claims: TokenClaims }> {
  const now = opts.now ?? Date.now()
  const claims: TokenClaims = {
    v: 1,
    id: toString(randomBytes(12), 'base64url'),
    tenant: file.tenant,
    authority: file.authority,
    scope: opts.scope,
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    notBefore: now,
    notAfter: now + opts.ttlMs
  }
  const token = encodeToken(await signDocument('api-token', claims, authorityKey(file)))
  const entry = {
    id: claims.id,
    scope: claims.scope,
    notAfter: claims.notAfter,
    ...(opts.name !== undefined ? { name: opts.name } : {})
  }
  return { file: { ...file, tokens: [...(file.tokens ?? []), entry] }, token, claims }
}

/**
 * Start a new epoch: a fresh group key, sealed for every member that is neither revoked nor
 * expired, and the cumulative revocation list, in one state document signed by the authority.
 */
export async function rotateTenant(
  file: TenantFile,
  revoke: string[] = [],
  now = Date.now(),
  revokeTokens: string[] = []
): Promise<{ file: TenantFile; state: TenantState }> {
  const revoked = [...new Set([...file.revoked, ...revoke])]
  const revokedTokens = [...new Set([...(file.revokedTokens ?? []), ...revokeTokens])]
  const epoch = file.epoch + 1
  const groupKey = randomKey()
  const keys: Record<string, string> = {}
  for (const m of file.members) {
    if (revoked.includes(m.peer) || m.notAfter <= now) continue
    keys[m.peer] = sealGroupKey(groupKey, fromString(m.memberKey, 'base64'), file.tenant, epoch, m.peer)
  }
  const claims: TenantStateClaims = {
    v: 1,
    tenant: file.tenant,
    epoch,
    issuedAt: now,
    revoked,
    ...(revokedTokens.length > 0 ? { revokedTokens } : {}),
    keys
  }
  const state = await signDocument('tenant-state', claims, authorityKey(file))
  return {
    file: {
      ...file,
      epoch,
      groupKey: toString(groupKey, 'base64'),
      revoked,
      ...(revokedTokens.length > 0 ? { revokedTokens } : {}),
      state
    },
    state
  }
}

async function readJson<T>(path: string, schema: z.ZodType<T>, fail: (reason: string) => Error): Promise<T> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw fail((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw fail('not JSON')
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw fail(`not a valid file (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'})`)
  }
  return parsed.data
}

export async function readTenantFile(path: string): Promise<TenantFile> {
  return readJson(path, tenantFileSchema, reason => new TenantFileError(path, reason))
}

export async function writeTenantFile(path: string, file: TenantFile, exclusive = false): Promise<void> {
  await writeSecretFile(path, JSON.stringify(file, null, 2) + '\n', exclusive)
}

export async function readCredentialFile(path: string, fail: (reason: string) => Error): Promise<CredentialFile> {
  return readJson(path, credentialFileSchema, fail)
}

export async function writeCredentialFile(path: string, file: CredentialFile): Promise<void> {
  await writeSecretFile(path, JSON.stringify(file, null, 2) + '\n')
}
