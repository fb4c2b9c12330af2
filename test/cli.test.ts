/**
 * Agents as separate processes started through the real CLI on loopback: discovery, the HTTP
 * API, kill -9, SIGTERM, restart with a kept identity, keygen.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { existsSync } from 'node:fs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { getJson, killAll, runCli, startAgent, type StartedAgent } from './helpers/cli.js'
import { waitFor } from './helpers/wait.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conclave-cli-'))
})
afterEach(killAll)
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const TIMINGS = { CONCLAVE_HEARTBEAT_MS: '300', CONCLAVE_DEAD_AFTER_MS: '1500', CONCLAVE_PING_TIMEOUT_MS: '500' }

function agentEnv(name: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CONCLAVE_NAME: name,
    CONCLAVE_DATA_DIR: join(dir, name),
    CONCLAVE_LISTEN: '/ip4/127.0.0.1/tcp/0',
    CONCLAVE_HTTP: '127.0.0.1:0',
    CONCLAVE_MDNS: 'false',
    ...TIMINGS,
    ...extra
  }
}

async function peerState(observer: StartedAgent, peerId: string): Promise<string | undefined> {
  const { body } = await getJson<Array<{ peerId: string; state: string }>>(`${observer.api}/v1/peers`)
  return body.find(p => p.peerId === peerId)?.state
}

/** Wait until every agent's API lists all the others alive. */
async function allSeeEachOther(agents: StartedAgent[]): Promise<void> {
  await waitFor(
    async () => {
      for (const x of agents) {
        const { body } = await getJson<Array<{ state: string }>>(`${x.api}/v1/peers`)
        if (body.filter(p => p.state === 'alive').length !== agents.length - 1) return false
      }
      return true
    },
    { timeoutMs: 30_000, message: `${agents.length} CLI agents did not all see each other` }
  )
}

describe('CLI agents on loopback', () => {
  it('find each other, serve the API, detect kill -9, leave on SIGTERM and keep their identity', async () => {
    const a = await startAgent(agentEnv('alpha', { CONCLAVE_ROLES: 'tpm' }))
    const seed = `${a.addrs[0] ?? ''}`
    const b = await startAgent(agentEnv('beta', { CONCLAVE_BOOTSTRAP: seed, CONCLAVE_ROLES: 'coder,tester' }))
    const c = await startAgent(agentEnv('gamma', { CONCLAVE_BOOTSTRAP: seed }))
    const all = [a, b, c]

    await allSeeEachOther(all)

    // The HTTP API as documented.
    expect(await getJson(`${a.api}/health`)).toEqual({ status: 200, body: { status: 'ok' } })
    expect((await getJson(`${a.api}/ready`)).status).toBe(200)
    const self = await getJson(`${b.api}/v1/self`)
    expect(self.body).toMatchObject({ peerId: b.peerId, name: 'beta', roles: ['coder', 'tester'], tenant: 'default' })
    const peers = await getJson<Array<Record<string, unknown>>>(`${b.api}/v1/peers`)
    const alpha = peers.body.find(p => p.peerId === a.peerId)
    expect(alpha).toMatchObject({ name: 'alpha', roles: ['tpm'], tenant: 'default', state: 'alive', connected: true })
    expect(Object.keys(alpha ?? {}).sort()).toEqual([
      'addrs',
      'connected',
      'lastSeenMs',
      'name',
      'peerId',
      'roles',
      'state',
      'tenant'
    ])
    expect((await fetch(`${a.api}/metrics`)).status).toBe(401)
    const metrics = await fetch(`${a.api}/metrics`, { headers: { authorization: `Bearer ${a.token}` } }).then(
      async r => await r.text()
    )
    expect(metrics).toMatch(/conclave_peers\{tenant="default",state="alive"\} 2/)
    expect(metrics).toMatch(/conclave_gossip_messages_total\{direction="in",channel="presence"\} [1-9]/)
    expect(metrics).toContain('libp2p_')
    expect((await getJson(`${a.api}/v1/nope`)).status).toBe(404)

    // kill -9: no leave; the others must notice on their own.
    const suspected = new Set<string>()
    c.child.kill('SIGKILL')
    await waitFor(
      async () => {
        // Poll both observers every round, so neither's suspect phase goes unobserved.
        const states = await Promise.all(
          [a, b].map(async x => {
            const s = await peerState(x, c.peerId)
            if (s === 'suspect') suspected.add(x.peerId)
            return s
          })
        )
        return states.every(s => s === 'dead')
      },
      { timeoutMs: 3 * 300 * 2 + 1_500 + 3_000, intervalMs: 20, message: 'kill -9 was not detected as dead' }
    )
    expect(suspected.size).toBe(2)

    // SIGTERM: leave announced, exit 0 within 5 s.
    const stopStarted = Date.now()
    b.child.kill('SIGTERM')
    expect(await b.exited).toBe(0)
    expect(Date.now() - stopStarted).toBeLessThan(5_000)
    await waitFor(async () => (await peerState(a, b.peerId)) === 'left', {
      timeoutMs: 5_000,
      message: 'SIGTERM was not seen as left'
    })

    // Restart with the same data dir: same peer id, alive again.
    const b2 = await startAgent(agentEnv('beta', { CONCLAVE_BOOTSTRAP: seed }))
    expect(b2.peerId).toBe(b.peerId)
    await waitFor(async () => (await peerState(a, b.peerId)) === 'alive', {
      timeoutMs: 20_000,
      message: 'restarted agent did not come back alive'
    })
  })

  it('a hung agent (SIGSTOP) is found by probes, long before its heartbeats are missed, and comes back on SIGCONT', async () => {
    // Heartbeats every 20 s: silence alone would take 60 s to count. Probes every 200 ms.
    const timings = { CONCLAVE_HEARTBEAT_MS: '20000', CONCLAVE_PROBE_INTERVAL_MS: '200' }
    const a = await startAgent(agentEnv('h-alpha', timings))
    const seed = `${a.addrs[0] ?? ''}`
    const others = await Promise.all(
      ['h-beta', 'h-gamma', 'h-delta'].map(
        async name => await startAgent(agentEnv(name, { ...timings, CONCLAVE_BOOTSTRAP: seed }))
      )
    )
    const all = [a, ...others]
    const hung = others[2] as StartedAgent
    const observers = all.filter(x => x !== hung)
    await allSeeEachOther(all)

    // The process stops answering but its TCP connections stay open: no disconnect to notice.
    hung.child.kill('SIGSTOP')
    const suspected = new Set<string>()
    await waitFor(
      async () => {
        const states = await Promise.all(
          observers.map(async x => {
            const s = await peerState(x, hung.peerId)
            if (s === 'suspect') suspected.add(x.peerId)
            return s
          })
        )
        return states.every(s => s === 'dead')
      },
      { timeoutMs: 15_000, intervalMs: 20, message: 'the hung agent was not found dead' }
    )
    // Probe (about 1 s with its helpers), suspicion gossiped, dead 1.5 s later: the 15 s bound is
    // a quarter of the 60 s that missed heartbeats would take.
    expect(suspected.size).toBeGreaterThan(0)

    hung.child.kill('SIGCONT')
    await waitFor(
      async () => {
        const states = await Promise.all(observers.map(async x => await peerState(x, hung.peerId)))
        return states.every(s => s === 'alive')
      },
      { timeoutMs: 20_000, message: 'the resumed agent did not come back alive' }
    )
  })

  it('keygen writes an identity that start then uses', async () => {
    const keygen = runCli(['keygen', '--data-dir', join(dir, 'kg')])
    expect(await keygen.exited).toBe(0)
    const peerId = keygen.stdout().trim()
    expect(peerId).toMatch(/^12D3KooW/)
    const again = runCli(['keygen', '--data-dir', join(dir, 'kg')])
    expect(await again.exited).toBe(1)
    expect(again.stderr()).toContain('already exists')
    const agent = await startAgent(agentEnv('kg'))
    expect(agent.peerId).toBe(peerId)
  })

  it('commands that open the episode database print no experimental-feature warning', async () => {
    const imported = runCli(['memory', 'import', '/dev/null', '--data-dir', join(dir, 'quiet'), '--create'])
    expect(await imported.exited).toBe(0)
    const exported = runCli(['memory', 'export', '--data-dir', join(dir, 'quiet'), '--out', join(dir, 'quiet.jsonl')])
    expect(await exported.exited).toBe(0)
    for (const p of [imported, exported]) expect(p.stderr()).not.toMatch(/Warning|experimental/i)
  })

  it('CONCLAVE_IDENTITY runs the agent with a key file kept outside the data dir (a mounted secret); `id` prints its peer id', async () => {
    const keyFile = join(dir, 'secrets', 'boot.key')
    const keygen = runCli(['keygen', '--out', keyFile])
    expect(await keygen.exited).toBe(0)
    const peerId = keygen.stdout().trim()
    const id = runCli(['id', '--identity', keyFile])
    expect(await id.exited).toBe(0)
    expect(id.stdout().trim()).toBe(peerId)
    const agent = await startAgent(agentEnv('fixed-id', { CONCLAVE_IDENTITY: keyFile }))
    expect(agent.peerId).toBe(peerId)
    // The data dir got no key of its own: the configured one is the identity.
    const own = runCli(['id', '--data-dir', join(dir, 'fixed-id')])
    expect(await own.exited).toBe(1)
    expect(own.stderr()).toContain('ENOENT')
  })

  it('a missing CONCLAVE_IDENTITY file stops start and config with exit 2, and is not created', async () => {
    const missing = join(dir, 'secrets', 'not-mounted.key')
    for (const command of ['start', 'config']) {
      const proc = runCli([command], agentEnv(`missing-id-${command}`, { CONCLAVE_IDENTITY: missing }))
      expect(await proc.exited, command).toBe(2)
      expect(proc.stderr()).toContain(`CONCLAVE_IDENTITY: identity file ${missing} is unusable: ENOENT`)
    }
    expect(existsSync(missing)).toBe(false)
    const id = runCli(['id', '--identity', missing])
    expect(await id.exited).toBe(1)
  })

  it('status prints a table of the view', async () => {
    const a = await startAgent(agentEnv('st-a'))
    const b = await startAgent(agentEnv('st-b', { CONCLAVE_BOOTSTRAP: a.addrs[0] ?? '' }))
    await waitFor(async () => (await peerState(a, b.peerId)) === 'alive', {
      timeoutMs: 20_000,
      message: 'st-b not seen'
    })
    // `conclave start` prints a dashboard link that signs a browser in once, without the token in it.
    const link = /dashboard \(this link signs you in once\): (http:\/\/\S+#login=(\S+))/.exec(a.stderr())
    expect(link, a.stderr()).not.toBeNull()
    expect(link?.[1]).not.toContain(a.token)
    const login = async (): Promise<Response> =>
      await fetch(`${a.api}/v1/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: link?.[2] })
      })
    expect(await (await login()).json()).toEqual({ token: a.token })
    expect((await login()).status).toBe(401)
    // The CLI finds the operator token in the agent's data dir.
    const status = runCli(['status', '--api', a.api, '--data-dir', join(dir, 'st-a')])
    expect(await status.exited, status.stderr()).toBe(0)
    expect(status.stdout()).toMatch(/NAME\s+PEER ID\s+TENANT\s+STATE/)
    expect(status.stdout()).toMatch(new RegExp(`st-b\\s+${b.peerId}\\s+default\\s+alive`))
    const fromEnv = runCli(['status', '--api', a.api, '--json'], { CONCLAVE_API_TOKEN: a.token })
    expect(await fromEnv.exited, fromEnv.stderr()).toBe(0)
    // No token anywhere, or a wrong one: exit 2, naming what to do.
    const none = runCli(['status', '--api', a.api, '--data-dir', join(dir, 'no-such-agent')])
    expect(await none.exited).toBe(2)
    expect(none.stderr()).toMatch(/no API token: pass --token or set CONCLAVE_API_TOKEN/)
    const wrong = runCli(['status', '--api', a.api, '--token', 'x'.repeat(40)])
    expect(await wrong.exited).toBe(2)
    expect(wrong.stderr()).toMatch(/answered 401: invalid token: malformed/)
    const unreachable = runCli(['status', '--api', 'http://127.0.0.1:1', '--token', a.token])
    expect(await unreachable.exited).toBe(1)
    expect(unreachable.stderr()).toContain('cannot reach the agent API')
  })
})
