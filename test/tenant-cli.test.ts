/**
 * The tenant authority through the real CLI: create, issue, start with credentials, the start-up
 * errors a credential can cause (exit 2, naming CONCLAVE_CREDENTIALS), and a revocation handed
 * to a running agent that the whole tenant enforces, also after the revoked agent restarts.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { agentEnv, getJson, killAll, runCli, startAgent, type StartedAgent } from './helpers/cli.js'
import { waitFor } from './helpers/wait.js'

let dir: string
const peers: Record<string, string> = {}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conclave-tenant-'))
  for (const name of ['a', 'b', 'c', 'd']) {
    const proc = runCli(['keygen', '--data-dir', join(dir, name)])
    expect(await proc.exited).toBe(0)
    peers[name] = proc.stdout().trim()
  }
})
afterEach(killAll)
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const env = (name: string, extra: Record<string, string> = {}): Record<string, string> => agentEnv(dir, name, extra)

async function cli(args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const proc = runCli(args)
  const code = await proc.exited
  return { code, stdout: proc.stdout(), stderr: proc.stderr() }
}

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777

describe('conclave tenant', () => {
  it('creates tenants and issues credentials in 0600 files, refusing bad input with exit 2', async () => {
    const acme = join(dir, 'acme.tenant.json')
    expect((await cli(['tenant', 'create', '--id', 'acme', '--out', acme])).code).toBe(0)
    expect(await mode(acme)).toBe(0o600)
    expect(JSON.parse(await readFile(acme, 'utf8'))).toMatchObject({ tenant: 'acme', epoch: 1 })
    const again = await cli(['tenant', 'create', '--id', 'acme', '--out', acme])
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/already exists/)
    expect((await cli(['tenant', 'create', '--id', 'Not A Tenant', '--out', join(dir, 'x.json')])).code).toBe(2)
    expect((await cli(['tenant', 'create', '--id', 'globex', '--out', join(dir, 'globex.tenant.json')])).code).toBe(0)

    for (const [name, roles] of [
      ['a', 'tpm'],
      ['b', 'coder,tester']
    ] as const) {
      const out = join(dir, `${name}.cred`)
      const issued = await cli([
        'tenant',
        'issue',
        '--tenant',
        acme,
        '--peer',
        peers[name] as string,
        '--roles',
        roles,
        '--ttl',
        '1d',
        '--out',
        out
      ])
      expect(issued.code).toBe(0)
      expect(await mode(out)).toBe(0o600)
    }
    expect(
      (
        await cli([
          'tenant',
          'issue',
          '--tenant',
          join(dir, 'globex.tenant.json'),
          '--peer',
          peers.c as string,
          '--out',
          join(dir, 'c.cred')
        ])
      ).code
    ).toBe(0)

    const badPeer = await cli([
      'tenant',
      'issue',
      '--tenant',
      acme,
      '--peer',
      'not-a-peer',
      '--out',
      join(dir, 'x.cred')
    ])
    expect(badPeer.code).toBe(2)
    expect(badPeer.stderr).toMatch(/not a peer id/)
    const badTtl = await cli([
      'tenant',
      'issue',
      '--tenant',
      acme,
      '--peer',
      peers.a as string,
      '--ttl',
      'soon',
      '--out',
      join(dir, 'x.cred')
    ])
    expect(badTtl.code).toBe(2)
    expect(badTtl.stderr).toMatch(/--ttl: "soon" is not a duration/)
    const noTenant = await cli([
      'tenant',
      'issue',
      '--tenant',
      join(dir, 'missing.json'),
      '--peer',
      peers.a as string,
      '--out',
      join(dir, 'x.cred')
    ])
    expect(noTenant.code).toBe(2)
    expect(noTenant.stderr).toMatch(/no such file/)
  })

  const startErrors: Array<{ what: string; agent: string; extra: () => Record<string, string>; message: RegExp }> = [
    {
      what: 'a credential issued for another peer',
      agent: 'd',
      extra: () => ({ CONCLAVE_CREDENTIALS: join(dir, 'a.cred') }),
      message: /issued for peer .* but this agent is/
    },
    {
      what: 'a role the credential does not grant',
      agent: 'a',
      extra: () => ({ CONCLAVE_CREDENTIALS: join(dir, 'a.cred'), CONCLAVE_ROLES: 'coder' }),
      message: /grants roles tpm .*not all of coder/
    },
    {
      what: 'a missing credential file',
      agent: 'a',
      extra: () => ({ CONCLAVE_CREDENTIALS: join(dir, 'nope.cred') }),
      message: /no such file/
    },
    {
      what: 'a file that is not a credential',
      agent: 'a',
      extra: () => ({ CONCLAVE_CREDENTIALS: join(dir, 'acme.tenant.json') }),
      message: /not a valid file/
    },
    {
      what: 'no credential with CONCLAVE_REQUIRE_TENANT',
      agent: 'a',
      extra: () => ({ CONCLAVE_REQUIRE_TENANT: 'true' }),
      message: /CONCLAVE_REQUIRE_TENANT is set but no credential/
    }
  ]
  for (const c of startErrors) {
    it(`start refuses ${c.what} with exit code 2`, async () => {
      const proc = runCli(['start'], env(c.agent, c.extra()))
      expect(await proc.exited).toBe(2)
      expect(proc.stderr()).toMatch(c.message)
      expect(proc.stderr()).toMatch(/CONCLAVE_(CREDENTIALS|REQUIRE_TENANT)/)
    })
  }

  it('an expired credential stops start-up with exit code 2', async () => {
    const out = join(dir, 'expired.cred')
    expect(
      (
        await cli([
          'tenant',
          'issue',
          '--tenant',
          join(dir, 'acme.tenant.json'),
          '--peer',
          peers.d as string,
          '--ttl',
          '1ms',
          '--out',
          out
        ])
      ).code
    ).toBe(0)
    const proc = runCli(['start'], env('d', { CONCLAVE_CREDENTIALS: out }))
    expect(await proc.exited).toBe(2)
    expect(proc.stderr()).toMatch(/CONCLAVE_CREDENTIALS: credential .* expired/)
  })

  it('agents of two tenants and one without credentials share a mesh; each sees only its own tenant; a revocation is enforced', async () => {
    const a = await startAgent(
      env('a', { CONCLAVE_CREDENTIALS: join(dir, 'a.cred'), CONCLAVE_ROLES: 'tpm', CONCLAVE_REQUIRE_TENANT: 'true' })
    )
    const boot = { CONCLAVE_BOOTSTRAP: a.addrs[0] as string }
    const b = await startAgent(
      env('b', { ...boot, CONCLAVE_CREDENTIALS: join(dir, 'b.cred'), CONCLAVE_ROLES: 'coder' })
    )
    const c = await startAgent(env('c', { ...boot, CONCLAVE_CREDENTIALS: join(dir, 'c.cred') }))
    const d = await startAgent(env('d', boot))
    expect(d.stderr()).toMatch(/no credentials: running in the open default namespace/)

    const alive = async (agent: StartedAgent): Promise<Array<{ peerId: string; tenant: string }>> =>
      (await getJson<Array<{ peerId: string; tenant: string; state: string }>>(`${agent.api}/v1/peers`)).body.filter(
        p => p.state === 'alive'
      )
    await waitFor(
      async () =>
        (await alive(a)).some(p => p.peerId === b.peerId) && (await alive(b)).some(p => p.peerId === a.peerId),
      { timeoutMs: 20_000, message: 'acme agents did not find each other' }
    )
    // The mesh is shared (c and d are connected), but views are per tenant.
    expect((await alive(a)).map(p => `${p.tenant}/${p.peerId}`)).toEqual([`acme/${b.peerId}`])
    expect(await alive(c)).toEqual([])
    expect(await alive(d)).toEqual([])
    expect((await getJson(`${c.api}/v1/self`)).body).toMatchObject({ tenant: 'globex', tenants: ['globex'] })

    // An API token of acme: printed alone on stdout, verified offline by every acme member, by no one else.
    const issued = await cli([
      'tenant',
      'token',
      '--tenant',
      join(dir, 'acme.tenant.json'),
      '--scope',
      'read',
      '--ttl',
      '1h',
      '--name',
      'ci'
    ])
    expect(issued.code, issued.stderr).toBe(0)
    const printed = issued.stdout.split('\n').filter(l => l !== '')
    expect(printed).toHaveLength(1)
    const readToken = printed[0] as string
    expect((await getJson(`${a.api}/v1/peers`, readToken)).status).toBe(200)
    expect((await getJson(`${b.api}/v1/peers`, readToken)).status).toBe(200)
    expect((await getJson(`${c.api}/v1/peers`, readToken)).status).toBe(401)
    const viaToken = runCli(['status', '--api', a.api, '--token', readToken, '--json'])
    expect(await viaToken.exited, viaToken.stderr()).toBe(0)
    const tooNarrow = runCli([
      'council',
      'open',
      '--api',
      a.api,
      '--token',
      readToken,
      '--project',
      'x',
      '--core',
      'tpm'
    ])
    expect(await tooNarrow.exited).toBe(2)
    expect(tooNarrow.stderr()).toMatch(/answered 403: .*needs operate/)
    expect(
      (await cli(['tenant', 'token', '--tenant', join(dir, 'acme.tenant.json'), '--scope', 'root'])).stderr
    ).toMatch(/--scope: "root" is not one of read, operate, admin/)
    // Revoked by its id: the signed state reaches every member, which then refuse it.
    const tokenId = /token (\S+) of tenant acme/.exec(issued.stderr)?.[1] as string
    const unknownId = await cli(['tenant', 'revoke', '--tenant', join(dir, 'acme.tenant.json'), '--token', 'nope'])
    expect(unknownId.code).toBe(2)
    expect(unknownId.stderr).toMatch(/--token: nope is not a token of tenant acme/)
    const revokeToken = await cli([
      'tenant',
      'revoke',
      '--tenant',
      join(dir, 'acme.tenant.json'),
      '--token',
      tokenId,
      '--out',
      join(dir, 'revoke-token.json'),
      '--api',
      a.api,
      '--api-token',
      a.token
    ])
    expect(revokeToken.code, revokeToken.stderr).toBe(0)
    await waitFor(async () => (await getJson(`${b.api}/v1/peers`, readToken)).status === 401, {
      timeoutMs: 15_000,
      message: 'b still accepts the revoked token'
    })
    expect((await getJson(`${a.api}/v1/peers`, readToken)).status).toBe(401)

    const revoke = await cli([
      'tenant',
      'revoke',
      '--tenant',
      join(dir, 'acme.tenant.json'),
      '--peer',
      b.peerId,
      '--out',
      join(dir, 'revoke-b.json'),
      '--api',
      a.api,
      '--api-token',
      a.token
    ])
    expect(revoke.code).toBe(0)
    expect(revoke.stderr).toMatch(/adopted the state and is gossiping it/)
    await waitFor(
      async () =>
        (await getJson<Array<{ peerId: string; state: string }>>(`${a.api}/v1/peers`)).body.find(
          p => p.peerId === b.peerId
        )?.state === 'left',
      { timeoutMs: 10_000, message: 'a did not drop b' }
    )
    await waitFor(() => b.stderr().includes('credential was revoked'), {
      timeoutMs: 10_000,
      message: 'b did not learn it was revoked'
    })

    // b kept the state it received: restarting with its old credential now fails.
    b.child.kill('SIGTERM')
    expect(await b.exited).toBe(0)
    const again = runCli(['start'], env('b', { ...boot, CONCLAVE_CREDENTIALS: join(dir, 'b.cred') }))
    expect(await again.exited).toBe(2)
    expect(again.stderr()).toMatch(/revoked from tenant acme/)
  })
})
