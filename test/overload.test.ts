/**
 * Overload and abuse against three `conclave start` processes on loopback, each abuse bounded:
 * big memory answers asked for at once, a crowd on the event stream, a burst of tasks with large
 * inputs, more councils than a tenant may open, deeply nested bodies. Throughout, every agent
 * answers /health within a second and nobody is declared dead; afterwards every accepted task has
 * the same final state at every agent, no episode is missing, and the mesh is whole within 30 s.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { agentEnv, getJson, killAll, runCli, startAgent, type StartedAgent } from './helpers/cli.js'
import { probeHealth } from './helpers/health-probe.js'
import { openSse, type SseClient } from './helpers/sse.js'
import { waitFor } from './helpers/wait.js'

const SEEDED = 1_500
let dir: string
let agents: StartedAgent[] = []
/** While true, the test follows every agent's membership events (false also when it failed). */
let watching = false

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conclave-overload-'))
})
afterAll(async () => {
  watching = false
  await killAll()
  await rm(dir, { recursive: true, force: true })
})

async function call(agent: StartedAgent, method: string, path: string, body?: string): Promise<Response> {
  return await fetch(`${agent.api}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${agent.token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {})
    },
    ...(body !== undefined ? { body } : {}),
    signal: AbortSignal.timeout(30_000)
  })
}

const alive = async (agent: StartedAgent): Promise<string[]> =>
  (await getJson<Array<{ peerId: string; state: string }>>(`${agent.api}/v1/peers`)).body
    .filter(p => p.state === 'alive')
    .map(p => p.peerId)

describe('overload', () => {
  it('keeps answering, declares nobody dead, loses nothing, and heals', async () => {
    // a holds 1,500 episodes of 4 KB before it starts: its memory answers are 6 MB each.
    const origin = randomBytes(8).toString('hex')
    const now = Date.now()
    const lines = Array.from({ length: SEEDED }, (_, i) =>
      JSON.stringify({
        id: `${origin}-${i + 1}`,
        tenant: 'default',
        origin,
        seq: i + 1,
        council: null,
        task: null,
        agent: 'seed',
        role: null,
        summary: 's'.repeat(4_000),
        reward: null,
        ts: now - SEEDED + i
      })
    )
    await writeFile(join(dir, 'seed.jsonl'), lines.join('\n') + '\n')
    const seeded = runCli(['memory', 'import', join(dir, 'seed.jsonl'), '--data-dir', join(dir, 'a'), '--create'])
    expect(await seeded.exited).toBe(0)

    const a = await startAgent(agentEnv(dir, 'a', { CONCLAVE_ROLES: 'tpm' }))
    const b = await startAgent(agentEnv(dir, 'b', { CONCLAVE_ROLES: 'coder', CONCLAVE_BOOTSTRAP: a.addrs[0] ?? '' }))
    const c = await startAgent(
      agentEnv(dir, 'c', {
        CONCLAVE_ROLES: 'coder',
        CONCLAVE_BOOTSTRAP: a.addrs[0] ?? '',
        CONCLAVE_MAX_COUNCILS_PER_TENANT: '20'
      })
    )
    agents = [a, b, c]
    await waitFor(async () => (await Promise.all(agents.map(alive))).every(v => v.length === 2), {
      timeoutMs: 30_000,
      message: 'mesh did not form'
    })
    const opened = await call(a, 'POST', '/v1/councils', JSON.stringify({ project: 'load', coreRoles: ['coder'] }))
    const council = ((await opened.json()) as { id: string }).id
    await waitFor(
      async () =>
        (
          await Promise.all(
            agents.map(async x => (await getJson<{ state: string }>(`${x.api}/v1/councils/${council}`)).body.state)
          )
        ).every(s => s === 'active'),
      { timeoutMs: 20_000, message: 'council not active' }
    )

    // Watchers: /health at every agent every 200 ms (from a process of its own), and every view every second.
    watching = true
    const health = probeHealth(agents.map(x => x.api))
    // Every membership change at every agent, from before the load until after the heal.
    const dead = new Set<string>()
    const follow = async (x: StartedAgent): Promise<SseClient> =>
      await openSse(`${x.api}/v1/events?types=member`, { authorization: `Bearer ${x.token}` })
    const followers = await Promise.all(agents.map(follow))
    const following = followers.map(async (first, i) => {
      let f = first
      // eslint-disable-next-line no-unmodified-loop-condition -- set by a callback while the loop awaits
      while (watching) {
        if (f.ended) {
          // The agent cut this follower off (a client that fell behind): follow it again.
          f = await follow(agents[i] as StartedAgent).catch(async () => {
            await new Promise(resolve => setTimeout(resolve, 200))
            return f
          })
          continue
        }
        const e = await f.next(2_000).catch(() => undefined)
        if (e === undefined) continue
        const data = (JSON.parse(e.data) as { data: { peerId: string; state: string } }).data
        if (data.state === 'dead') dead.add(`${data.peerId} at ${agents[i]?.peerId ?? ''}`)
      }
      f.close()
    })

    const stallBefore = await Promise.all(
      agents.map(async x =>
        Number(/^conclave_event_loop_stall_seconds (\S+)$/m.exec(await (await call(x, 'GET', '/metrics')).text())?.[1])
      )
    )
    const statuses = (list: number[]): Record<number, number> =>
      list.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {})
    // The abuses, all at once.
    const memory = Promise.all(
      Array.from({ length: 8 }, async () => {
        const res = await call(a, 'GET', '/v1/memory?limit=10000')
        // Drained, not parsed: this process measures the agents' health and must stay responsive.
        if (res.status === 200) expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(SEEDED * 4_000)
        return res.status
      })
    )
    const streams = (async () => {
      // Forty clients at once, each holding its stream (reading nothing) until every one has its
      // answer: no slot frees up before the last client asked.
      const aborts = Array.from({ length: 40 }, () => new AbortController())
      const answers = await Promise.all(
        aborts.map(
          async abort =>
            await fetch(`${b.api}/v1/events`, { headers: { authorization: `Bearer ${b.token}` }, signal: abort.signal })
        )
      )
      await new Promise(resolve => setTimeout(resolve, 3_000))
      for (const abort of aborts) abort.abort()
      return answers.map(res => res.status)
    })()
    const accepted: string[] = []
    const tasks = (async () => {
      const out: number[] = []
      for (let batch = 0; batch < 30; batch++) {
        out.push(
          ...(await Promise.all(
            Array.from({ length: 10 }, async () => {
              const res = await call(
                a,
                'POST',
                `/v1/councils/${council}/tasks`,
                JSON.stringify({ role: 'coder', input: { workMs: 20, pad: 'p'.repeat(30_000) } })
              )
              if (res.status === 202) accepted.push(((await res.json()) as { taskId: string }).taskId)
              else await res.body?.cancel()
              return res.status
            })
          ))
        )
      }
      return out
    })()
    const councils = (async () => {
      const out: number[] = []
      const ids: string[] = []
      for (let i = 0; i < 30; i++) {
        const res = await call(
          c,
          'POST',
          '/v1/councils',
          JSON.stringify({ project: `crowd-${i}`, coreRoles: ['coder'], optionalRoles: ['tester', 'reviewer'] })
        )
        out.push(res.status)
        const body = (await res.json()) as { id?: string }
        if (body.id !== undefined) ids.push(body.id)
      }
      for (const id of ids) await (await call(c, 'DELETE', `/v1/councils/${id}`)).body?.cancel()
      return out
    })()
    const deep = call(
      b,
      'POST',
      `/v1/councils/${council}/tasks`,
      `{"role":"coder","input":${'['.repeat(5_000)}${']'.repeat(5_000)}}`
    ).then(r => r.status)
    const [memoryStatus, streamStatus, taskStatus, councilStatus, deepStatus] = await Promise.all([
      memory,
      streams,
      tasks,
      councils,
      deep
    ])
    const loadStoppedAt = Date.now()
    // Each agent's longest event-loop stall of the last minute: the whole load.
    const stallS = await Promise.all(
      agents.map(async x =>
        Number(/^conclave_event_loop_stall_seconds (\S+)$/m.exec(await (await call(x, 'GET', '/metrics')).text())?.[1])
      )
    )

    // Each abuse was served or refused with its limit, never with an error.
    expect(
      memoryStatus.every(s => s === 200 || s === 429),
      JSON.stringify(statuses(memoryStatus))
    ).toBe(true)
    // b's limit is 32 clients, one of them the membership follower above.
    expect(streamStatus.filter(s => s === 200)).toHaveLength(31)
    expect(streamStatus.filter(s => s === 429)).toHaveLength(9)
    expect(
      taskStatus.every(s => s === 202 || s === 429),
      JSON.stringify(statuses(taskStatus))
    ).toBe(true)
    expect(
      councilStatus.every(s => s === 201 || s === 429),
      JSON.stringify(statuses(councilStatus))
    ).toBe(true)
    expect(councilStatus.filter(s => s === 429).length, "councils past the tenant's limit").toBeGreaterThan(0)
    expect(deepStatus).toBe(400)
    expect(accepted.length).toBeGreaterThan(0)

    // Every accepted task ends with one final state, the same at every agent.
    const finalStates = async (): Promise<string[][]> =>
      await Promise.all(
        agents.map(async x => {
          const list = (await getJson<Array<{ id: string; state: string }>>(`${x.api}/v1/councils/${council}/tasks`))
            .body
          const byId = new Map(list.map(t => [t.id, t.state]))
          return accepted.map(id => byId.get(id) ?? 'missing')
        })
      )
    let last: string[][] = []
    await waitFor(
      async () => {
        last = await finalStates()
        const [first, ...rest] = last
        return (
          first !== undefined &&
          first.every(s => s === 'done' || s === 'failed') &&
          rest.every(r => r.join() === first.join())
        )
      },
      {
        timeoutMs: 90_000,
        intervalMs: 1_000,
        message: () =>
          JSON.stringify(
            last.map(states =>
              states.reduce<Record<string, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {})
            )
          )
      }
    )
    // No episode lost: every agent holds one for each task done, and a still holds what it was seeded with.
    const done = (await finalStates())[0]?.flatMap((s, i) => (s === 'done' ? [accepted[i] as string] : [])) ?? []
    await waitFor(
      async () =>
        (
          await Promise.all(
            agents.map(async x => {
              const episodes = (
                await getJson<Array<{ task: string | null }>>(`${x.api}/v1/memory?council=${council}&limit=10000`)
              ).body
              const tasksSeen = new Set(episodes.map(e => e.task))
              return done.every(id => tasksSeen.has(id))
            })
          )
        ).every(Boolean),
      { timeoutMs: 60_000, intervalMs: 1_000, message: 'an episode of a done task is missing somewhere' }
    )
    const stats = (await getJson<{ tenants: Array<{ tenant: string; episodes: number }> }>(`${a.api}/v1/memory/stats`))
      .body
    expect(stats.tenants.find(t => t.tenant === 'default')?.episodes).toBeGreaterThanOrEqual(SEEDED + done.length)

    // Healed within 30 s of the load stopping.
    await waitFor(async () => (await Promise.all(agents.map(alive))).every(v => v.length === 2), {
      timeoutMs: Math.max(1_000, loadStoppedAt + 30_000 - Date.now()),
      message: 'the mesh did not heal within 30 s'
    })
    watching = false
    await Promise.all(following)
    const worstBy = await health.stop()
    const worstHealthMs = Math.max(...Object.values(worstBy))
    if (process.env.OVERLOAD_REPORT !== undefined) {
      await writeFile(
        process.env.OVERLOAD_REPORT,
        JSON.stringify({
          worstHealthMs,
          accepted: accepted.length,
          memory: statuses(memoryStatus),
          tasks: statuses(taskStatus),
          councils: statuses(councilStatus),
          healedMs: Date.now() - loadStoppedAt,
          worstBy: Object.values(worstBy),
          stallS,
          stallBefore
        })
      )
    }
    expect(dead, 'declared dead under load').toEqual(new Set())
    expect(worstHealthMs, 'slowest /health answer (ms)').toBeLessThan(1_000)
    // Under the ping timeout (1 s by default): peers never wait on a stalled agent long enough to suspect it.
    for (const s of stallS) expect(s, 'longest event-loop stall under load (s)').toBeLessThan(1)
  }, 300_000)
})
