/**
 * API tokens: bearer tokens for the HTTP API, signed by a tenant authority. Every member of the
 * tenant verifies one offline against the authority key it already holds; nothing is stored on
 * agents. A token is `ctk1.<claims>.<signature>`, both parts base64url, the signature the one of
 * a signed document of kind `api-token` over the claims' JSON bytes.
 */
import { fromString, toString } from 'uint8arrays'
import { z } from 'zod'
import { isValidTenantId } from './namespace.js'
import { readDocument, verifyDocument, type SignedDocument } from './signed.js'

/** What a token lets its bearer do, each scope including the ones before it. */
export const SCOPES = ['read', 'operate', 'admin'] as const
export type Scope = (typeof SCOPES)[number]

export const TOKEN_PREFIX = 'ctk1'

export interface TokenClaims {
  v: 1
  /** Serial number, unique per issue: what `tenant revoke --token` names. */
  id: string
  tenant: string
  /** The authority's raw Ed25519 public key, base64. */
  authority: string
  scope: Scope
  /** A label for operators (who or what holds the token). */
  name?: string
  notBefore: number
  notAfter: number
}

export const tokenClaimsSchema = z.object({
  v: z.literal(1),
  id: z.string().min(1).max(64),
  tenant: z.string().refine(isValidTenantId, 'invalid tenant id'),
  authority: z.string().min(1).max(64),
  scope: z.enum(SCOPES),
  name: z.string().min(1).max(128).optional(),
  notBefore: z.number().int().nonnegative(),
  notAfter: z.number().int().nonnegative()
})

/** Why a token is refused; the text of the 401 answer. */
export type TokenProblem =
  'malformed' | 'unknown tenant' | 'wrong authority' | 'bad signature' | 'expired' | 'not yet valid' | 'revoked'

/** Whether scope `held` includes scope `needed`. */
export function grantsScope(held: Scope, needed: Scope): boolean {
  return SCOPES.indexOf(held) >= SCOPES.indexOf(needed)
}

export function encodeToken(doc: SignedDocument): string {
  const b64url = (b64: string): string => toString(fromString(b64, 'base64'), 'base64url')
  return `${TOKEN_PREFIX}.${b64url(doc.body)}.${b64url(doc.sig)}`
}

/** The signed document inside a token string, or undefined when it is not one. */
export function decodeToken(token: string): SignedDocument | undefined {
  const parts = token.split('.')
  if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX || token.length > 4096) return undefined
  try {
    const b64 = (part: string): string => toString(fromString(part, 'base64url'), 'base64')
    const doc = { body: b64(parts[1] as string), sig: b64(parts[2] as string) }
    return doc.body === '' || doc.sig === '' ? undefined : doc
  } catch {
    return undefined
  }
}

/** The claims of a token without checking its signature (to find the tenant it names). */
export function readTokenClaims(token: string): TokenClaims | undefined {
  const doc = decodeToken(token)
  return doc === undefined ? undefined : (readDocument(doc, tokenClaimsSchema) as TokenClaims | undefined)
}

/**
 * Check a token against a tenant's authority, the current time and the revoked token ids.
 * Returns its claims, or the problem.
 */
export async function verifyToken(
  token: string,
  authority: string,
  revoked: ReadonlySet<string>,
  now: number
): Promise<TokenClaims | TokenProblem> {
  const doc = decodeToken(token)
  const claims = doc === undefined ? undefined : (readDocument(doc, tokenClaimsSchema) as TokenClaims | undefined)
  if (doc === undefined || claims === undefined) return 'malformed'
  if (claims.authority !== authority) return 'wrong authority'
  if (!(await verifyDocument('api-token', doc, authority))) return 'bad signature'
  if (now < claims.notBefore) return 'not yet valid'
  if (now >= claims.notAfter) return 'expired'
  if (revoked.has(claims.id)) return 'revoked'
  return claims
}
