/**
 * Documents signed by a tenant authority (credentials and tenant states): the exact JSON bytes
 * travel base64-encoded next to an Ed25519 signature over `domain || bytes`, so a signature made
 * for one kind of document can never be taken for another.
 */
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { fromString, toString } from 'uint8arrays'
import { z } from 'zod'

export interface SignedDocument {
  body: string
  sig: string
}

export const signedDocumentSchema = z.object({
  body: z
    .string()
    .min(1)
    .max(2 * 1024 * 1024),
  sig: z.string().min(1).max(256)
})

export type DocumentKind = 'credential' | 'tenant-state' | 'api-token'

function domain(kind: DocumentKind): Uint8Array {
  return fromString(`conclave/${kind}/v1\u0000`)
}

function framed(kind: DocumentKind, body: Uint8Array): Uint8Array {
  const prefix = domain(kind)
  const out = new Uint8Array(prefix.length + body.length)
  out.set(prefix)
  out.set(body, prefix.length)
  return out
}

export async function signDocument(kind: DocumentKind, claims: unknown, key: PrivateKey): Promise<SignedDocument> {
  const body = fromString(JSON.stringify(claims))
  const sig = await key.sign(framed(kind, body))
  return { body: toString(body, 'base64'), sig: toString(sig, 'base64') }
}

/** The claims of a document, parsed against `schema` without checking the signature. */
export function readDocument<T>(doc: SignedDocument, schema: z.ZodType<T>): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(toString(fromString(doc.body, 'base64'))))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}

/** Whether `doc` is signed by `authority` (the raw Ed25519 public key, base64). */
export async function verifyDocument(
  kind: DocumentKind,
  doc: SignedDocument,
  authority: PublicKey | string
): Promise<boolean> {
  try {
    const key = typeof authority === 'string' ? publicKeyFromRaw(fromString(authority, 'base64')) : authority
    return await key.verify(framed(kind, fromString(doc.body, 'base64')), fromString(doc.sig, 'base64'))
  } catch {
    return false
  }
}
