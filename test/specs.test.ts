/**
 * The wire spec's test vectors (docs/specs/vectors/) against this implementation: what another
 * implementation built from docs/specs/ must produce and accept.
 */
import { createCipheriv } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { fromString, toString } from 'uint8arrays'
import { describe, expect, it } from 'vitest'
import { proposalDigest } from '../src/council/index.js'
import { openRecord, recordRef, signRecord } from '../src/membership/record.js'
import { credentialClaimsSchema } from '../src/tenancy/credential.js'
import { open } from '../src/tenancy/crypto.js'
import { decodeEnvelope, encodeHeader } from '../src/tenancy/envelope.js'
import { parseTopic, topicFor } from '../src/tenancy/namespace.js'
import { readDocument, signDocument, verifyDocument } from '../src/tenancy/signed.js'

const vectors = JSON.parse(await readFile(new URL('../docs/specs/vectors/envelope.json', import.meta.url), 'utf8'))
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))

describe('wire spec vectors', () => {
  it('topic names', () => {
    const { tenant, topic } = vectors.topic
    expect(topicFor(tenant)).toBe(topic)
    expect(parseTopic(topic)).toEqual({ tenant })
    expect(parseTopic(`${topic}/task`)).toBeUndefined()
  })

  it('a sealed envelope: header bytes, authenticated data, and the payload it opens to', () => {
    const v = vectors.sealed
    const bytes = hex(v.envelopeHex)
    const envelope = decodeEnvelope(bytes)
    expect(envelope?.header).toEqual(v.header)
    expect(envelope?.aad.length).toBe(v.headerBytes)
    expect(toString(envelope?.aad.subarray(3) ?? new Uint8Array())).toBe(JSON.stringify(v.header))
    const plaintext = open(hex(v.groupKeyHex), envelope?.body ?? new Uint8Array(), envelope?.aad ?? new Uint8Array())
    expect(plaintext === undefined ? undefined : toString(plaintext)).toBe(v.plaintext)
    // This implementation seals the same bytes given the same nonce.
    const aad = encodeHeader(v.header)
    const nonce = envelope?.body.subarray(0, 12) ?? new Uint8Array()
    const cipher = createCipheriv('aes-256-gcm', hex(v.groupKeyHex), nonce)
    cipher.setAAD(aad)
    const box = Buffer.concat([nonce, cipher.update(fromString(v.plaintext)), cipher.final(), cipher.getAuthTag()])
    expect(Buffer.concat([aad, box]).toString('hex')).toBe(v.envelopeHex)
    // One flipped header byte and the body no longer opens.
    const tampered = new Uint8Array(bytes)
    tampered[10] = (tampered[10] as number) ^ 1
    const t = decodeEnvelope(tampered)
    expect(t === undefined || open(hex(v.groupKeyHex), t.body, t.aad) === undefined).toBe(true)
  })

  it('an envelope of the open tenant carries its payload as is', () => {
    const v = vectors.open
    const envelope = decodeEnvelope(hex(v.envelopeHex))
    expect(envelope?.header).toEqual(v.header)
    expect(toString(envelope?.body ?? new Uint8Array())).toBe(v.plaintext)
  })

  it("a signed document: domain-separated Ed25519 over the claims' bytes, deterministic", async () => {
    const v = vectors.signedDocument
    const key = await generateKeyPairFromSeed('Ed25519', hex(v.authoritySeedHex))
    expect(toString(key.publicKey.raw, 'base64')).toBe(v.authorityPublicKeyBase64)
    expect(await signDocument('credential', v.claims, key)).toEqual(v.document)
    expect(await verifyDocument('credential', v.document, v.authorityPublicKeyBase64)).toBe(true)
    expect(readDocument(v.document, credentialClaimsSchema)).toEqual(v.claims)
    expect(toString(hex(v.domainHex))).toBe('conclave/credential/v1\u0000')
    // The same signature under another kind does not verify.
    expect(await verifyDocument('tenant-state', v.document, v.authorityPublicKeyBase64)).toBe(false)
  })
})

const more = JSON.parse(
  await readFile(new URL('../docs/specs/vectors/membership-councils.json', import.meta.url), 'utf8')
)

describe('wire spec vectors: presence records and council acknowledgements', () => {
  it('a presence record signed by its own peer id, with its reference', async () => {
    const v = more.presenceRecord
    const key = await generateKeyPairFromSeed('Ed25519', hex(v.keySeedHex))
    expect(peerIdFromPrivateKey(key).toString()).toBe(v.peerId)
    expect(await signRecord(v.record, key)).toEqual(v.signed)
    expect(await openRecord(v.signed)).toEqual(v.record)
    expect(recordRef(v.signed)).toBe(v.ref)
    // Signed by another key, it is refused.
    const other = await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(0x55))
    expect(await openRecord({ record: v.signed.record, sig: (await signRecord(v.record, other)).sig })).toBe(
      'bad-signature'
    )
  })

  it('a proposal digest and an acknowledgement signature', async () => {
    const v = more.councilAck
    expect(proposalDigest(v.council, v.proposal)).toBe(v.digest)
    const key = await generateKeyPairFromSeed('Ed25519', hex(v.keySeedHex))
    const sig = toString(await key.sign(fromString(`${v.ackDomain}\u0000${v.digest as string}`)), 'base64')
    expect(sig).toBe(v.ackSig)
    // Any change to the proposal changes the digest.
    expect(proposalDigest(v.council, { ...v.proposal, epoch: v.proposal.epoch + 1 })).not.toBe(v.digest)
  })
})
