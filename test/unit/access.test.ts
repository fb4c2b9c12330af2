import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  Access,
  ApiTokenError,
  loadOrCreateOperatorToken,
  OneTimeCodes,
  operatorTokenPath,
  readOperatorToken
} from '../../src/access/index.js'
import { hostAllowed } from '../../src/api/index.js'
import {
  createTenant,
  issueApiToken,
  issueKeyring,
  readTokenClaims,
  rotateTenant,
  type TenantFile,
  type TenantKeyring
} from '../../src/tenancy/index.js'

const dirs: string[] = []
async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'conclave-access-'))
  dirs.push(dir)
  return dir
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

describe('operator token file', () => {
  it('is made once, 0600, and read back the same', async () => {
    const dir = await dataDir()
    expect(await readOperatorToken(dir)).toBeUndefined()
    const first = await loadOrCreateOperatorToken(dir)
    expect(first.token.length).toBeGreaterThanOrEqual(32)
    expect((await stat(operatorTokenPath(dir))).mode & 0o777).toBe(0o600)
    expect((await loadOrCreateOperatorToken(dir)).token).toBe(first.token)
    expect(await readOperatorToken(dir)).toBe(first.token)
  })

  it('narrows a file readable by others to 0600, and refuses a token too short', async () => {
    const dir = await dataDir()
    const { token } = await loadOrCreateOperatorToken(dir)
    await chmod(operatorTokenPath(dir), 0o644)
    expect(await loadOrCreateOperatorToken(dir)).toEqual({ token, narrowed: true })
    expect((await stat(operatorTokenPath(dir))).mode & 0o777).toBe(0o600)
    await writeFile(operatorTokenPath(dir), 'short\n')
    await expect(loadOrCreateOperatorToken(dir)).rejects.toThrow(ApiTokenError)
    await expect(readOperatorToken(dir)).rejects.toThrow(/at least 32 characters/)
    expect(await readFile(operatorTokenPath(dir), 'utf8')).toBe('short\n')
  })
})

describe('one-time codes', () => {
  it('redeem once, before they expire, and forget the oldest past the cap', () => {
    const codes = new OneTimeCodes<string>()
    const a = codes.mint('a', 1_000, 0)
    expect(codes.redeem(a, 500)).toBe('a')
    expect(codes.redeem(a, 500)).toBeUndefined()
    const b = codes.mint('b', 1_000, 0)
    expect(codes.redeem(b, 1_000)).toBeUndefined()
    const many = Array.from({ length: 1_025 }, (_, i) => codes.mint(String(i), 1_000, 0))
    expect(codes.redeem(many[0] as string, 1)).toBeUndefined()
    expect(codes.redeem(many[1_024] as string, 1)).toBe('1024')
  })
})

describe('Access', () => {
  it('grants the operator token admin on every tenant, a tenant token its scope and tenant, and refuses the rest by reason', async () => {
    let now = 1_000_000
    let tenant: TenantFile = await createTenant('acme')
    const peer = '12D3KooWGRUVh8Q1YsQqrCV3KXXsZcKGUUFdaXKu2ezSBZ4F5sKy'
    const ring: TenantKeyring = (await issueKeyring(tenant, peer)).keyring
    const access = new Access({
      operatorToken: 'o'.repeat(40),
      keyring: t => (t === 'acme' ? ring : undefined),
      now: () => now
    })
    expect(await access.authenticate('o'.repeat(40))).toEqual({ scope: 'admin' })
    expect(await access.authenticate('o'.repeat(39))).toBe('malformed')
    const read = await issueApiToken(tenant, { scope: 'read', ttlMs: 60_000, now })
    tenant = read.file
    expect(readTokenClaims(read.token)).toMatchObject({ tenant: 'acme', scope: 'read' })
    expect(await access.authenticate(read.token)).toEqual({ scope: 'read', tenant: 'acme', tokenId: read.claims.id })
    // One flipped character of the signature.
    const flipped = read.token.at(-2) === 'A' ? 'B' : 'A'
    const forged = read.token.slice(0, -2) + flipped + read.token.slice(-1)
    expect(forged).not.toBe(read.token)
    expect(await access.authenticate(forged)).toBe('bad signature')
    const other = await issueApiToken(await createTenant('acme'), { scope: 'admin', ttlMs: 60_000, now })
    expect(await access.authenticate(other.token)).toBe('wrong authority')
    const stranger = await issueApiToken(await createTenant('globex'), { scope: 'admin', ttlMs: 60_000, now })
    expect(await access.authenticate(stranger.token)).toBe('unknown tenant')
    now += 60_000
    expect(await access.authenticate(read.token)).toBe('expired')
    const fresh = await issueApiToken(tenant, { scope: 'operate', ttlMs: 60_000, now })
    const { state } = await rotateTenant(fresh.file, [], now, [fresh.claims.id])
    expect(await access.authenticate(fresh.token)).toMatchObject({ scope: 'operate' })
    expect(typeof (await ring.applyState(state, now))).toBe('object')
    expect(await access.authenticate(fresh.token)).toBe('revoked')
  })

  it('tickets carry the grant they were made for, once', () => {
    const access = new Access({ operatorToken: 'o'.repeat(40), keyring: () => undefined })
    const { ticket } = access.ticket({ scope: 'read', tenant: 'acme' })
    expect(access.redeemTicket(ticket)).toEqual({ scope: 'read', tenant: 'acme' })
    expect(access.redeemTicket(ticket)).toBeUndefined()
    const code = access.loginCode()
    expect(access.redeemLogin(code)).toBe('o'.repeat(40))
    expect(access.redeemLogin(code)).toBeUndefined()
  })
})

describe('Host allow-list', () => {
  it('answers IP addresses, localhost and listed names only', () => {
    for (const host of ['127.0.0.1:8080', '[::1]:8080', '10.1.2.3', 'localhost:8080', 'LOCALHOST']) {
      expect(hostAllowed(host, []), host).toBe(true)
    }
    for (const host of ['evil.example', 'localhost.evil.example:8080', '', undefined]) {
      expect(hostAllowed(host, []), String(host)).toBe(false)
    }
    expect(hostAllowed('api.conclave.test:8080', ['api.conclave.test'])).toBe(true)
    expect(hostAllowed('a.conclave.test', ['*.conclave.test'])).toBe(true)
    expect(hostAllowed('conclave.test.evil', ['*.conclave.test'])).toBe(false)
    expect(hostAllowed('anything', ['*'])).toBe(true)
  })
})
