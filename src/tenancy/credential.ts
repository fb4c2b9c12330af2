import { toString } from 'uint8arrays'
import { z } from 'zod'
import { ANY_ROLE } from './constants.js'
import { sha256 } from './crypto.js'
import { isValidTenantId } from './namespace.js'
import { readDocument, signedDocumentSchema, verifyDocument, type SignedDocument } from './signed.js'

/**
 * What a tenant authority vouches for: this peer id belongs to the tenant, may hold these roles,
 * within this validity window. Presented with every tenant message (or by reference).
 */
export interface CredentialClaims {
  v: 1
  /** Serial number, unique per issue. */
  id: string
  tenant: string
  /** The authority's raw Ed25519 public key, base64. */
  authority: string
  /** The peer id the credential is bound to: only that key's holder can sign messages under it. */
  peer: string
  /** Roles granted; `*` grants every role. */
  roles: string[]
  notBefore: number
  notAfter: number
}

export type Credential = SignedDocument
export const credentialSchema = signedDocumentSchema

const roleSchema = z.string().min(1).max(64)
export const credentialClaimsSchema = z.object({
  v: z.literal(1),
  id: z.string().min(1).max(64),
  tenant: z.string().refine(isValidTenantId, 'invalid tenant id'),
  authority: z.string().min(1).max(64),
  peer: z.string().min(1).max(128),
  roles: z.array(roleSchema).max(64),
  notBefore: z.number().int().nonnegative(),
  notAfter: z.number().int().nonnegative()
})

/** Why a credential does not admit a message; also the rejection reason counted in metrics. */
export type CredentialProblem =
  | 'malformed-credential'
  | 'wrong-tenant'
  | 'wrong-authority'
  | 'bad-credential-signature'
  | 'wrong-peer'
  | 'expired'
  | 'not-yet-valid'
  | 'revoked'
  | 'role-not-granted'

/** A short, stable name for a credential (its hash), sent instead of the whole credential. */
export function credentialRef(credential: Credential): string {
  return toString(sha256(credential.body, '.', credential.sig).subarray(0, 16), 'base64url')
}

export function readCredentialClaims(credential: Credential): CredentialClaims | undefined {
  return readDocument(credential, credentialClaimsSchema) as CredentialClaims | undefined
}

export function grantsRole(claims: CredentialClaims, role: string): boolean {
  return claims.roles.includes(ANY_ROLE) || claims.roles.includes(role)
}

/**
 * Parse a credential and check that `authority` signed it for `tenant`. Time, binding and
 * revocation are checked separately (`admits`), as they change while the signature does not.
 */
export async function verifyCredential(
  credential: Credential,
  tenant: string,
  authority: string
): Promise<CredentialClaims | CredentialProblem> {
  const claims = readCredentialClaims(credential)
  if (claims === undefined) return 'malformed-credential'
  if (claims.tenant !== tenant) return 'wrong-tenant'
  if (claims.authority !== authority) return 'wrong-authority'
  if (!(await verifyDocument('credential', credential, authority))) return 'bad-credential-signature'
  return claims
}

export interface Admission {
  peer: string
  now: number
  revoked: ReadonlySet<string>
  roles?: readonly string[]
}

/** Whether verified claims admit `peer` now with these roles. */
export function admits(claims: CredentialClaims, a: Admission): CredentialProblem | undefined {
  if (claims.peer !== a.peer) return 'wrong-peer'
  if (a.now < claims.notBefore) return 'not-yet-valid'
  if (a.now >= claims.notAfter) return 'expired'
  if (a.revoked.has(claims.peer)) return 'revoked'
  for (const role of a.roles ?? []) if (!grantsRole(claims, role)) return 'role-not-granted'
  return undefined
}
