/** Councils and singletons through the real CLI and separate agent processes. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { agentEnv, getJson, killAll, runCli, startAgent } from './helpers/cli.js'
import { waitFor } from './helpers/wait.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conclave-council-'))
})
afterEach(killAll)
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const env = (name: string, extra: Record<string, string> = {}): Record<string, string> => agentEnv(dir, name, extra)

describe('conclave council', () => {
  it('opens a council through one agent process and every process agrees; singleton leaders agree', async () => {
    const a = await startAgent(env('a', { CONCLAVE_ROLES: 'tpm', CONCLAVE_SINGLETONS: 'scheduler' }))
    const boot = { CONCLAVE_BOOTSTRAP: a.addrs[0] as string }
    const b = await startAgent(
      env('b', { ...boot, CONCLAVE_ROLES: 'senior-software-architect', CONCLAVE_SINGLETONS: 'scheduler' })
    )
    const c = await startAgent(env('c', { ...boot, CONCLAVE_ROLES: 'coder', CONCLAVE_SINGLETONS: 'scheduler' }))
    const all = [a, b, c]
    await waitFor(
      async () =>
        (
          await Promise.all(
            all.map(
              async x =>
                (await getJson<Array<{ state: string }>>(`${x.api}/v1/peers`)).body.filter(p => p.state === 'alive')
                  .length
            )
          )
        ).every(n => n === 2),
      { timeoutMs: 20_000, message: 'mesh did not form' }
    )

    const bad = runCli(['council', 'open', '--api', a.api, '--token', a.token, '--project', 'x', '--core', ''])
    expect(await bad.exited).toBe(2)
    expect(bad.stderr()).toMatch(/--core: /)

    const open = runCli([
      'council',
      'open',
      '--api',
      b.api,
      '--token',
      b.token,
      '--project',
      'apollo',
      '--core',
      'tpm,senior-software-architect',
      '--optional',
      'coder',
      '--wait',
      '--timeout-ms',
      '20000'
    ])
    expect(await open.exited).toBe(0)
    const id = open.stdout().trim()
    expect(open.stderr()).toMatch(/active/)
    await waitFor(
      async () => {
        const views = await Promise.all(
          all.map(
            async x =>
              (await getJson<{ state: string; epoch: number; roster: unknown[] }>(`${x.api}/v1/councils/${id}`)).body
          )
        )
        return views.every(
          v =>
            v.state === 'active' &&
            v.roster.length === 3 &&
            JSON.stringify(v.roster) === JSON.stringify(views[0]?.roster)
        )
      },
      { timeoutMs: 10_000, message: 'processes disagree on the roster' }
    )
    const listed = runCli(['council', 'list', '--api', c.api, '--token', c.token, '--json'])
    expect(await listed.exited).toBe(0)
    const councils = JSON.parse(listed.stdout()) as Array<{
      id: string
      roster: Array<{ role: string; peerId: string }>
    }>
    expect(councils.find(x => x.id === id)?.roster.map(s => [s.role, s.peerId])).toEqual([
      ['tpm', a.peerId],
      ['senior-software-architect', b.peerId],
      ['coder', c.peerId]
    ])

    let leader = ''
    await waitFor(
      async () => {
        const leaders = await Promise.all(
          all.map(
            async x => (await getJson<Record<string, { peerId: string }>>(`${x.api}/v1/leaders`)).body.scheduler?.peerId
          )
        )
        leader = leaders[0] ?? ''
        return leaders[0] !== undefined && leaders.every(l => l === leaders[0])
      },
      { timeoutMs: 15_000, message: 'no single scheduler leader' }
    )

    // `conclave status` shows peers, councils and leaders as tables, and all of it as JSON.
    const status = runCli(['status', '--api', c.api, '--token', c.token])
    expect(await status.exited).toBe(0)
    const text = status.stdout()
    expect(text).toMatch(new RegExp(`^a\\s+${a.peerId}\\s+default\\s+alive\\s+\\S+\\s+(yes|no)\\s+tpm,scheduler`, 'm'))
    expect(text).toMatch(
      new RegExp(`^apollo\\s+${id}\\s+default\\s+active\\s+\\d+\\s+tpm=a senior-software-architect=b coder=c`, 'm')
    )
    const leaderName =
      all.find(x => x.peerId === leader) === a ? 'a' : all.find(x => x.peerId === leader) === b ? 'b' : 'c'
    expect(text).toMatch(new RegExp(`^scheduler\\s+${leaderName}\\s+${leader}\\s+\\d+`, 'm'))
    const json = runCli(['status', '--api', c.api, '--token', c.token, '--json'])
    expect(await json.exited).toBe(0)
    const parsed = JSON.parse(json.stdout()) as {
      peers: unknown[]
      councils: Array<{ id: string }>
      leaders: Record<string, { peerId: string }>
    }
    expect(parsed.peers).toHaveLength(2)
    expect(parsed.councils.map(x => x.id)).toContain(id)
    expect(parsed.leaders.scheduler?.peerId).toBe(leader)
  })
})
