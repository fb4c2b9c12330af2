/**
 * Symmetric primitives of tenancy: AES-256-GCM (hardware-accelerated on x86 and arm64; 96-bit
 * random nonces, so a key must not seal more than 2^32 messages, which key rotation bounds)
 * and SHA-256, both from `node:crypto`.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

export const KEY_BYTES = 32
const NONCE_BYTES = 12
const TAG_BYTES = 16
/** Bytes an AEAD box adds to its plaintext. */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES

export function randomKey(): Uint8Array {
  return new Uint8Array(randomBytes(KEY_BYTES))
}

/** `nonce || ciphertext || tag`; `aad` is authenticated but not encrypted. */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  cipher.setAAD(aad)
  const head = cipher.update(plaintext)
  const tail = cipher.final()
  const out = new Uint8Array(NONCE_BYTES + head.length + tail.length + TAG_BYTES)
  out.set(nonce, 0)
  out.set(head, NONCE_BYTES)
  out.set(tail, NONCE_BYTES + head.length)
  out.set(cipher.getAuthTag(), out.length - TAG_BYTES)
  return out
}

/** The plaintext of a box from `seal`, or undefined when the key, the box or the aad do not match. */
export function open(key: Uint8Array, box: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  if (box.length < SEAL_OVERHEAD) return undefined
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, box.subarray(0, NONCE_BYTES))
    decipher.setAAD(aad)
    decipher.setAuthTag(box.subarray(box.length - TAG_BYTES))
    const head = decipher.update(box.subarray(NONCE_BYTES, box.length - TAG_BYTES))
    const tail = decipher.final()
    return tail.length === 0
      ? new Uint8Array(head.buffer, head.byteOffset, head.length)
      : new Uint8Array(Buffer.concat([head, tail]))
  } catch {
    return undefined
  }
}

export function sha256(...parts: Array<Uint8Array | string>): Uint8Array {
  const hash = createHash('sha256')
  for (const p of parts) hash.update(p)
  return new Uint8Array(hash.digest())
}
