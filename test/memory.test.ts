/**
 * Federated episode memory with real agents: an agent stopped and restarted catches up on what
 * it missed, a new agent with an empty disk receives the tenant's whole memory (10,000 episodes
 * included), nothing is served across tenants, and backup/restore through the CLI.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lpStream } from 'it-length-prefixed-stream'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Agent } from '../src/agent/index.js'
import { episodeId, MEMORY, type Episode } from '../src/memory/index.js'
import { Sim } from '../src/sim/index.js'
import { encodeJson } from '../src/util/json.js'
import { killAll, runCli } from './helpers/cli.js'
import { waitFor } from './helpers/wait.js'

let dir: string
let sim: Sim
const TENANT = 'demo'
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conclave-memory-'))
  sim = await Sim.start({
    agents: 4,
    dataDir: dir,
    tenants: [TENANT, 'other'],
    tenantsOf: i => [i === 3 ? 'other' : TENANT]
  })
  await waitFor(() => sim.convergedCount() === 4, { timeoutMs: 20_000, message: 'mesh did not form' })
}, 60_000)
afterEach(killAll)
afterAll(async () => {
  await sim?.stop()
  await rm(dir, { recursive: true, force: true })
})

const count = (a: Agent): number => a.memory.store.count(TENANT)

async function recordMany(agent: Agent, n: number, label: string): Promise<void> {
  for (let i = 0; i < n; i++) await agent.memory.record(TENANT, { summary: `${label} ${i}`, reward: i })
}

describe('episode memory', () => {
  it('replicates every episode to every tenant member, and a restarted agent catches up on what it missed', async () => {
    const [a0, a1, a2] = sim.agents as [Agent, Agent, Agent]
    await recordMany(a0, 5, 'before')
    await waitFor(() => [a0, a1, a2].every(a => count(a) === 5), {
      timeoutMs: 10_000,
      message: () => `counts ${[a0, a1, a2].map(count).join(',')}`
    })
    await sim.stopAgent(a2)
    await recordMany(a0, 20, 'while-down-0')
    await recordMany(a1, 20, 'while-down-1')
    await waitFor(() => count(a0) === 45 && count(a1) === 45, {
      timeoutMs: 10_000,
      message: 'live members did not converge'
    })
    const restarted = await sim.restart(2)
    expect(count(restarted)).toBe(5)
    await waitFor(() => count(restarted) === 45, {
      timeoutMs: 20_000,
      message: () => `restarted agent holds ${count(restarted)}/45`
    })
    const ids = (a: Agent): string[] =>
      a.memory
        .query({ limit: 10_000 })
        .map(e => e.id)
        .sort()
    expect(ids(restarted)).toEqual(ids(a0))
    // The agent of the other tenant holds none of it.
    expect((sim.agents[3] as Agent).memory.query({ limit: 10_000 })).toEqual([])
    expect((sim.agents[3] as Agent).memory.store.count(TENANT)).toBe(0)
  }, 60_000)

  it("refuses to serve a tenant's memory to a peer outside it", async () => {
    const outsider = sim.agents[3] as Agent
    const member = sim.agents[0] as Agent
    const stream = await outsider.node.dialProtocol(member.node.peerId, MEMORY.MEMORY_PROTOCOL)
    const lp = lpStream(stream)
    await lp.write(encodeJson({ tenant: TENANT, have: {} }))
    const reply = JSON.parse(new TextDecoder().decode((await lp.read()).subarray())) as unknown
    expect(reply).toEqual({ error: `not a member of tenant ${TENANT}` })
    await stream.close()
  })

  it('a new agent with an empty data dir receives the whole memory, 10,000 episodes included', async () => {
    const a0 = sim.agents[0] as Agent
    // 10,000 episodes of a past agent (another origin), stored at agent-0 only.
    const origin = 'feedc0de00000001'
    const now = Date.now()
    const bulk: Episode[] = Array.from({ length: 10_000 }, (_, i) => ({
      id: episodeId(origin, i + 1),
      tenant: TENANT,
      origin,
      seq: i + 1,
      council: 'c-old',
      task: `t${i}`,
      agent: 'a-past-agent',
      role: 'coder',
      summary: `bulk ${i}`,
      reward: null,
      ts: now - 10_000 + i
    }))
    expect(a0.memory.import(bulk)).toEqual({ added: 10_000, skipped: 0 })
    const total = count(a0)
    const [fresh] = await sim.add(1)
    if (fresh === undefined) throw new Error('no new agent')
    const t0 = Date.now()
    await waitFor(() => count(fresh) === total, {
      timeoutMs: 60_000,
      message: () => `new agent holds ${count(fresh)}/${total}`
    })
    console.log(`catch-up of ${total} episodes on an empty data dir: ${Date.now() - t0} ms after start`)
    expect(fresh.memory.query({ agent: 'a-past-agent', limit: 3, since: 0 }).map(e => e.summary)).toEqual([
      'bulk 0',
      'bulk 1',
      'bulk 2'
    ])
  }, 90_000)

  it('exports a data dir to JSON lines and imports it elsewhere; a bad file is refused naming the line', async () => {
    const a0 = sim.agents[0] as Agent
    const expected = count(a0)
    const out = join(dir, 'backup.jsonl')
    const exported = runCli(['memory', 'export', '--data-dir', a0.config.dataDir, '--out', out])
    expect(await exported.exited).toBe(0)
    expect(exported.stdout()).toContain(`exported ${expected} episodes`)
    const lines = (await readFile(out, 'utf8')).trim().split('\n')
    expect(lines).toHaveLength(expected)
    const restoredDir = join(dir, 'restored')
    // A data dir without a store is refused unless --create says to make one.
    const mistyped = runCli(['memory', 'import', out, '--data-dir', restoredDir])
    expect(await mistyped.exited).toBe(2)
    expect(mistyped.stderr()).toMatch(/--data-dir: no episode database at .* \(pass --create to make a new one\)/)
    const badTenant = runCli(['memory', 'import', out, '--data-dir', restoredDir, '--tenant', 'Not A Tenant'])
    expect(await badTenant.exited).toBe(2)
    expect(badTenant.stderr()).toMatch(/--tenant: "Not A Tenant" is not a tenant id/)
    const imported = runCli(['memory', 'import', out, '--data-dir', restoredDir, '--create'])
    expect(await imported.exited).toBe(0)
    expect(imported.stdout()).toContain(`imported ${expected} episodes`)
    const again = runCli(['memory', 'import', out], { CONCLAVE_DATA_DIR: restoredDir })
    expect(await again.exited).toBe(0)
    expect(again.stdout()).toContain('imported 0 episodes')
    const check = join(dir, 'check.jsonl')
    const roundTrip = runCli(['memory', 'export', '--data-dir', restoredDir, '--out', check])
    expect(await roundTrip.exited).toBe(0)
    expect((await readFile(check, 'utf8')).trim().split('\n').sort()).toEqual([...lines].sort())

    // An episode that differs from the one held under its id is a conflict, not "already present".
    const altered = join(dir, 'altered.jsonl')
    const changed = { ...(JSON.parse(lines[0] as string) as Episode), summary: 'rewritten history' }
    await writeFile(altered, `${JSON.stringify(changed)}\n`)
    const conflict = runCli(['memory', 'import', altered, '--data-dir', restoredDir])
    expect(await conflict.exited).toBe(1)
    expect(conflict.stderr()).toMatch(
      new RegExp(
        `1 episodes differ from the ones this store holds under the same id \\(first: tenant ${changed.tenant}, id ${changed.id}\\); nothing imported`
      )
    )
    const badTenantField = join(dir, 'bad-tenant.jsonl')
    await writeFile(badTenantField, `${JSON.stringify({ ...changed, tenant: 'Bad Tenant!' })}\n`)
    const refusedTenant = runCli(['memory', 'import', badTenantField, '--data-dir', restoredDir])
    expect(await refusedTenant.exited).toBe(2)
    expect(refusedTenant.stderr()).toMatch(/line 1: tenant: not a tenant id/)

    const bad = join(dir, 'bad.jsonl')
    await writeFile(bad, `${lines[0] ?? ''}\n{"id":"x"}\n`)
    const refused = runCli(['memory', 'import', bad, '--data-dir', join(dir, 'never')])
    expect(await refused.exited).toBe(2)
    expect(refused.stderr()).toMatch(/line 2: /)
    const missing = runCli(['memory', 'export', '--data-dir', join(dir, 'nothing-here'), '--out', join(dir, 'x.jsonl')])
    expect(await missing.exited).toBe(2)
    expect(missing.stderr()).toMatch(/--data-dir: no episode database/)
  }, 60_000)
})
