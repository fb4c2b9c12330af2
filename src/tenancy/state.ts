import { fromString, toString } from 'uint8arrays'
import { z } from 'zod'
import { open, seal } from './crypto.js'
import { isValidTenantId } from './namespace.js'
import { readDocument, signedDocumentSchema, verifyDocument, type SignedDocument } from './signed.js'

/**
 * A tenant's state as its authority last declared it: the current group-key epoch, every revoked
 * peer (cumulative), and the epoch's group key sealed separately for each member still admitted.
 * A revoked member is simply left out of `keys`, so it cannot read traffic of this epoch.
 */
export interface TenantStateClaims {
  v: 1
  tenant: string
  epoch: number
  issuedAt: number
  revoked: string[]
  /** Ids of API tokens revoked (cumulative); absent in states that revoke none. */
  revokedTokens?: string[]
  /** peer id → the group key sealed under that member's member key. */
  keys: Record<string, string>
}

export type TenantState = SignedDocument
export const tenantStateSchema = signedDocumentSchema

export const tenantStateClaimsSchema = z.object({
  v: z.literal(1),
  tenant: z.string().refine(isValidTenantId, 'invalid tenant id'),
  epoch: z.number().int().positive(),
  issuedAt: z.number().int().nonnegative(),
  revoked: z.array(z.string().min(1).max(128)).max(100_000),
  revokedTokens: z.array(z.string().min(1).max(64)).max(100_000).optional(),
  keys: z.record(z.string().min(1).max(128), z.string().min(1).max(128))
})

export function readStateClaims(state: TenantState): TenantStateClaims | undefined {
  return readDocument(state, tenantStateClaimsSchema) as TenantStateClaims | undefined
}

/** Verified claims of a state document, or undefined when it is malformed or not signed by `authority`. */
export async function verifyState(
  state: TenantState,
  tenant: string,
  authority: string
): Promise<TenantStateClaims | undefined> {
  const claims = readStateClaims(state)
  if (claims?.tenant !== tenant) return undefined
  return (await verifyDocument('tenant-state', state, authority)) ? claims : undefined
}

function keyAad(tenant: string, epoch: number, peer: string): Uint8Array {
  return fromString(`conclave/group-key/v1\u0000${tenant}\u0000${epoch}\u0000${peer}`)
}

/** The group key of `epoch`, sealed for one member. */
export function sealGroupKey(
  groupKey: Uint8Array,
  memberKey: Uint8Array,
  tenant: string,
  epoch: number,
  peer: string
): string {
  return toString(seal(memberKey, groupKey, keyAad(tenant, epoch, peer)), 'base64')
}

/** This member's group key from a state, or undefined when the state holds none for it. */
export function unsealGroupKey(claims: TenantStateClaims, memberKey: Uint8Array, peer: string): Uint8Array | undefined {
  const sealed = claims.keys[peer]
  if (sealed === undefined) return undefined
  try {
    return open(memberKey, fromString(sealed, 'base64'), keyAad(claims.tenant, claims.epoch, peer))
  } catch {
    return undefined
  }
}
