/**
 * The envelope every tenant message travels in:
 *
 *     0x01 | header length (u16, big-endian) | header (JSON) | body
 *
 * The body is the payload sealed with the tenant's group key of epoch `e` (AES-256-GCM) with
 * everything before it as authenticated data, so no header field can be changed or moved to
 * another envelope. In the open `default` tenant (`e` = 0) the body is the plaintext.
 */
import { fromString, toString } from 'uint8arrays'
import { z } from 'zod'
import { credentialSchema, type Credential } from './credential.js'
import { MAX_HEADER_BYTES } from './constants.js'
import { isValidChannel, isValidTenantId } from './namespace.js'

const VERSION = 1
const PREFIX_BYTES = 3

export interface EnvelopeHeader {
  /** Tenant (must match the topic it was published on) and channel (which handler takes it). */
  t: string
  c: string
  /** Sender peer id: must equal the gossip message's signer. */
  s: string
  /** Sender session (its start time in ms): sequence numbers restart with each session. */
  i: number
  /** Per-sender, per-channel sequence number within the session. */
  q: number
  /** Sender clock (ms since the epoch) when sealed. */
  ts: number
  /** Group-key epoch the body is sealed under; 0 in the open tenant (not encrypted). */
  e: number
  /** Role the sender acts in, if the message claims one: the credential must grant it. */
  r?: string
  /** The sender's credential… */
  k?: Credential
  /** …or a reference to one it presented before (`credentialRef`). */
  f?: string
}

const segment = z.string().min(1).max(64)
export const headerSchema = z.object({
  t: segment.refine(isValidTenantId),
  c: segment.refine(isValidChannel),
  s: z.string().min(1).max(128),
  i: z.number().int().nonnegative(),
  q: z.number().int().nonnegative(),
  ts: z.number().int().nonnegative(),
  e: z.number().int().nonnegative(),
  r: segment.optional(),
  k: credentialSchema.optional(),
  f: z.string().min(1).max(64).optional()
})

export interface Envelope {
  header: EnvelopeHeader
  /** Bytes authenticated with the body: version, length and header. */
  aad: Uint8Array
  body: Uint8Array
}

/** Header bytes with the prefix, ready to be the AEAD's authenticated data. */
export function encodeHeader(header: EnvelopeHeader): Uint8Array {
  const json = fromString(JSON.stringify(header))
  if (json.length > MAX_HEADER_BYTES) {
    throw new RangeError(`envelope header of ${json.length} bytes exceeds ${MAX_HEADER_BYTES}`)
  }
  const out = new Uint8Array(PREFIX_BYTES + json.length)
  out[0] = VERSION
  out[1] = json.length >> 8
  out[2] = json.length & 0xff
  out.set(json, PREFIX_BYTES)
  return out
}

export function encodeEnvelope(aad: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(aad.length + body.length)
  out.set(aad)
  out.set(body, aad.length)
  return out
}

/** Split and parse an envelope; undefined when it is not one. */
export function decodeEnvelope(bytes: Uint8Array): Envelope | undefined {
  if (bytes.length < PREFIX_BYTES || bytes[0] !== VERSION) return undefined
  const length = ((bytes[1] as number) << 8) | (bytes[2] as number)
  if (length > MAX_HEADER_BYTES || PREFIX_BYTES + length > bytes.length) return undefined
  let header: EnvelopeHeader
  try {
    const parsed = headerSchema.safeParse(JSON.parse(toString(bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + length))))
    if (!parsed.success) return undefined
    header = parsed.data as EnvelopeHeader
  } catch {
    return undefined
  }
  if (header.k !== undefined && header.f !== undefined) return undefined
  return { header, aad: bytes.subarray(0, PREFIX_BYTES + length), body: bytes.subarray(PREFIX_BYTES + length) }
}
