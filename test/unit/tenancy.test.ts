import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { open, seal } from '../../src/tenancy/crypto.js'
import { ReplayGuard } from '../../src/tenancy/replay.js'
import {
  createTenant,
  decodeEnvelope,
  encodeEnvelope,
  encodeHeader,
  issueCredential,
  rotateTenant,
  TenantKeyring,
  readCredentialClaims,
  readStateClaims
} from '../../src/tenancy/index.js'
import { verifyCredential } from '../../src/tenancy/credential.js'

const PEER_A = '12D3KooWD7CWecFehe7wwRyzGxgGaPSaSDAUMps1JiwAaxmfkMg3'
const PEER_B = '12D3KooWARbXVzDZ6UCDx89DekZNtqssrJsq7yEzBTa2JAEf8Twb'

describe('replay guard', () => {
  it('accepts each sequence once, tolerates reordering within the window, and refuses older sessions', () => {
    const g = new ReplayGuard(4)
    expect(g.accept('k', 10, 5)).toBe(true)
    expect(g.accept('k', 10, 5)).toBe(false)
    expect(g.accept('k', 10, 3)).toBe(true) // late but inside the window
    expect(g.accept('k', 10, 3)).toBe(false)
    expect(g.accept('k', 10, 9)).toBe(true)
    expect(g.accept('k', 10, 5)).toBe(false) // now outside the window (9 - 4)
    expect(g.accept('k', 9, 100)).toBe(false) // an older session
    expect(g.accept('k', 11, 1)).toBe(true) // the sender restarted
    expect(g.accept('other', 1, 1)).toBe(true)
  })

  it('forgets the least recently used sender past its capacity', () => {
    const g = new ReplayGuard(8, 2)
    g.accept('a', 1, 1)
    g.accept('b', 1, 1)
    g.accept('c', 1, 1)
    expect(g.accept('b', 1, 1)).toBe(false)
    expect(g.accept('a', 1, 1)).toBe(true) // forgotten
  })
})

describe('sealing and envelopes', () => {
  it('opens only with the same key and the same authenticated header', () => {
    const key = randomBytes(32)
    const aad = encodeHeader({ t: 'acme', c: 'chat', s: PEER_A, i: 1, q: 1, ts: 1, e: 1 })
    const box = seal(key, Buffer.from('secret'), aad)
    expect(Buffer.from(open(key, box, aad) ?? []).toString()).toBe('secret')
    expect(open(randomBytes(32), box, aad)).toBeUndefined()
    const otherAad = encodeHeader({ t: 'acme', c: 'chat', s: PEER_A, i: 1, q: 2, ts: 1, e: 1 })
    expect(open(key, box, otherAad)).toBeUndefined()
    expect(open(key, box.subarray(0, box.length - 1), aad)).toBeUndefined()
  })

  it('decodes what it encodes and refuses anything else', () => {
    const aad = encodeHeader({ t: 'acme', c: 'chat', s: PEER_A, i: 1, q: 1, ts: 1, e: 0 })
    const env = decodeEnvelope(encodeEnvelope(aad, Buffer.from('body')))
    expect(env?.header).toEqual({ t: 'acme', c: 'chat', s: PEER_A, i: 1, q: 1, ts: 1, e: 0 })
    expect(Buffer.from(env?.body ?? []).toString()).toBe('body')
    expect(decodeEnvelope(new Uint8Array([1, 255, 255]))).toBeUndefined()
    expect(decodeEnvelope(new Uint8Array([2, 0, 0]))).toBeUndefined()
    expect(
      decodeEnvelope(
        encodeEnvelope(encodeHeader({ t: 'Bad Tenant', c: 'x', s: 'p', i: 0, q: 0, ts: 0, e: 0 }), new Uint8Array())
      )
    ).toBeUndefined()
    expect(() => encodeHeader({ t: 'acme', c: 'chat', s: 'x'.repeat(5000), i: 1, q: 1, ts: 1, e: 0 })).toThrow(
      RangeError
    )
  })
})

describe('credentials and tenant states', () => {
  it('checks authority, binding, validity, roles and revocation', async () => {
    const tenant = await createTenant('acme')
    const now = Date.now()
    const { file, credential } = await issueCredential(tenant, { peer: PEER_A, roles: ['coder'], ttlMs: 60_000, now })
    const claims = await verifyCredential(credential.credential, 'acme', file.authority)
    if (typeof claims === 'string') throw new Error(claims)
    const ring = await TenantKeyring.fromCredential(credential, claims, PEER_B)
    expect(await ring.check(PEER_A, { credential: credential.credential }, ['coder'], now + 1)).toMatchObject({
      peer: PEER_A
    })
    expect(await ring.check(PEER_B, { credential: credential.credential }, [], now + 1)).toBe('wrong-peer')
    expect(await ring.check(PEER_A, { credential: credential.credential }, ['tpm'], now + 1)).toBe('role-not-granted')
    expect(await ring.check(PEER_A, { credential: credential.credential }, [], now + 60_000)).toBe('expired')
    expect(await ring.check(PEER_A, { credential: credential.credential }, [], now - 1)).toBe('not-yet-valid')
    expect(await ring.check(PEER_A, { ref: 'unknown' })).toBe('unknown-credential')
    const tampered = {
      ...credential.credential,
      body: Buffer.from(JSON.stringify({ ...readCredentialClaims(credential.credential), roles: ['*'] })).toString(
        'base64'
      )
    }
    expect(await ring.check(PEER_A, { credential: tampered })).toBe('bad-credential-signature')
    const other = await createTenant('acme')
    expect(await verifyCredential(credential.credential, 'acme', other.authority)).toBe('wrong-authority')
    expect(await verifyCredential(credential.credential, 'globex', file.authority)).toBe('wrong-tenant')
  })

  it('a rotation gives the new key to admitted members only, and revocation sticks', async () => {
    let tenant = await createTenant('acme')
    const a = await issueCredential(tenant, { peer: PEER_A, ttlMs: 60_000 })
    const b = await issueCredential(a.file, { peer: PEER_B, ttlMs: 60_000 })
    tenant = b.file
    const rings = await Promise.all(
      [
        [a, PEER_A],
        [b, PEER_B]
      ].map(async ([issued, peer]) => {
        const { credential } = issued as typeof a
        const claims = await verifyCredential(credential.credential, 'acme', tenant.authority)
        if (typeof claims === 'string') throw new Error(claims)
        return await TenantKeyring.fromCredential(credential, claims, peer as string)
      })
    )
    const [ringA, ringB] = rings as [TenantKeyring, TenantKeyring]
    const { state } = await rotateTenant(tenant, [PEER_B])
    expect(await ringA.applyState(state)).toEqual({ epoch: 2, revoked: [PEER_B], selfRevoked: false })
    expect(ringA.currentKey()?.epoch).toBe(2)
    expect(ringA.keyFor(1)).toBeDefined() // grace period for messages in flight
    expect(await ringB.applyState(state)).toMatchObject({ selfRevoked: true })
    expect(ringB.currentKey()).toBeUndefined()
    expect(await ringA.applyState(state)).toBe('stale')
    // A newer state not signed by the authority is refused (an older one is ignored unchecked).
    const newer = { ...readStateClaims(state), epoch: 3 }
    const forged = {
      body: Buffer.from(JSON.stringify(newer)).toString('base64'),
      sig: Buffer.from(randomBytes(64)).toString('base64')
    }
    expect(await ringA.applyState(forged)).toBe('invalid')
    expect(ringA.currentKey()?.epoch).toBe(2)
    expect(await ringA.check(PEER_B, { credential: b.credential.credential })).toBe('revoked')
  })
})
