import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { fromString, toString } from 'uint8arrays'
import { z } from 'zod'
import { credentialSchema, isValidTenantId, type Credential } from '../tenancy/index.js'
import { MAX_RECORD_ADDRS, MAX_RECORD_ROLES, RECORD_REF_CHARS } from './constants.js'

/**
 * What an agent says about itself. Signed by the agent's own key, so any agent may relay it
 * (in a sync snapshot) and the receiver still knows it is authentic.
 */
export interface PresenceRecord {
  v: 1
  peerId: string
  name: string
  roles: string[]
  tenant: string
  addrs: string[]
  version: string
  /** Grows on every restart (start time in ms) and on every refutation of a suspicion. */
  incarnation: number
  /** The member's tenant credential (absent in the open tenant), so relayed records can be checked. */
  cred?: Credential
}

export const presenceRecordSchema = z.object({
  v: z.literal(1),
  peerId: z.string().min(1).max(128),
  name: z.string().min(1).max(64),
  roles: z.array(z.string().min(1).max(64)).max(MAX_RECORD_ROLES),
  tenant: z.string().refine(isValidTenantId, 'invalid tenant id'),
  addrs: z.array(z.string().min(1).max(256)).max(MAX_RECORD_ADDRS),
  version: z.string().max(64),
  incarnation: z.number().int().nonnegative(),
  cred: credentialSchema.optional()
})

/** A record as it travels: its exact bytes (base64) and the signature over them. */
export interface SignedRecord {
  record: string
  sig: string
}

export async function signRecord(record: PresenceRecord, key: PrivateKey): Promise<SignedRecord> {
  const bytes = fromString(JSON.stringify(record))
  const sig = await key.sign(bytes)
  return { record: toString(bytes, 'base64'), sig: toString(sig, 'base64') }
}

/**
 * A short reference to a signed record: the start of its signature. Only the record's subject
 * can sign it, and a beat is authenticated as coming from that subject, so a beat cannot point
 * at someone else's record; 96 bits keep the subject's own records apart.
 */
export function recordRef(signed: SignedRecord): string {
  return signed.sig.slice(0, RECORD_REF_CHARS)
}

/** Why a signed record was refused; used as the rejection reason in metrics. */
export type RecordProblem = 'malformed' | 'bad-signature'

/**
 * Decode and verify a signed record. Returns the record, or the reason it is unusable.
 * The signature is checked against the public key inside the record's own peer id.
 */
export async function openRecord(signed: SignedRecord): Promise<PresenceRecord | RecordProblem> {
  let record: PresenceRecord
  let bytes: Uint8Array
  try {
    bytes = fromString(signed.record, 'base64')
    const parsed = presenceRecordSchema.safeParse(JSON.parse(toString(bytes)))
    if (!parsed.success) return 'malformed'
    record = parsed.data as PresenceRecord
  } catch {
    return 'malformed'
  }
  try {
    const publicKey = peerIdFromString(record.peerId).publicKey
    if (publicKey == null) return 'bad-signature'
    const ok = await publicKey.verify(bytes, fromString(signed.sig, 'base64'))
    return ok ? record : 'bad-signature'
  } catch {
    return 'bad-signature'
  }
}
