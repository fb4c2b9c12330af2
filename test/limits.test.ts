/**
 * Bounded resources: every cap answers 429 with Retry-After and the setting that sets it, takes
 * nothing already accepted away, and frees its slot when the work ends. Real agents of a sim,
 * with small limits.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Agent } from '../src/agent/index.js'
import { episodeId, type Episode } from '../src/memory/index.js'
import { Sim } from '../src/sim/index.js'
import { apiFetch } from './helpers/api.js'
import { waitFor } from './helpers/wait.js'

let sim: Sim
let agent: Agent

async function post(path: string, body: unknown): Promise<{ status: number; body: any; retryAfter: string | null }> {
  const res = await apiFetch(agent, path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
  return { status: res.status, body: await res.json(), retryAfter: res.headers.get('retry-after') }
}

beforeAll(async () => {
  sim = await Sim.start({
    agents: 2,
    roles: () => ['coder'],
    overrides: {
      maxTasksPerCouncil: 3,
      maxTasksPerSubmitter: 4,
      maxCouncilsPerTenant: 2,
      maxCouncils: 3,
      maxEventClients: 2,
      maxMemoryQueries: 1,
      taskInputRetentionMs: 0
    }
  })
  agent = sim.agents[0] as Agent
  await waitFor(() => sim.convergedCount() === 2, { timeoutMs: 30_000, message: 'mesh did not form' })
}, 60_000)
afterAll(async () => {
  await sim?.stop()
})

describe('limits', () => {
  let first = ''
  it('councils: a tenant takes so many open ones; a dissolved one makes room', async () => {
    const open = async (project: string): Promise<Awaited<ReturnType<typeof post>>> =>
      await post('/v1/councils', { project, coreRoles: ['coder'] })
    const a = await open('one')
    const b = await open('two')
    expect([a.status, b.status]).toEqual([201, 201])
    first = a.body.id
    const refused = await open('three')
    expect(refused.status).toBe(429)
    expect(refused.retryAfter).toBe('30')
    expect(refused.body).toMatchObject({ limit: 'CONCLAVE_MAX_COUNCILS_PER_TENANT' })
    expect(refused.body.error).toMatch(/2 open councils, the most allowed/)
    // Nothing accepted was dropped to make room.
    expect(agent.councils.get(a.body.id)).toBeDefined()
    expect(agent.councils.get(b.body.id)).toBeDefined()
    expect((await apiFetch(agent, `/v1/councils/${b.body.id as string}`, { method: 'DELETE' })).status).toBe(200)
    expect((await open('three')).status).toBe(201)
  })

  it('tasks: a council takes so many in flight; finished ones make room and keep their result, not their input', async () => {
    await waitFor(() => sim.agents.every(x => x.councils.get(first)?.state === 'active'), {
      timeoutMs: 20_000,
      message: 'council not active'
    })
    const submit = async (workMs: number): Promise<Awaited<ReturnType<typeof post>>> =>
      await post(`/v1/councils/${first}/tasks`, { role: 'coder', input: { workMs, pad: 'x'.repeat(1_000) } })
    const accepted = [await submit(1_500), await submit(1_500), await submit(1_500)]
    expect(accepted.map(r => r.status)).toEqual([202, 202, 202])
    const refused = await submit(10)
    expect(refused.status).toBe(429)
    expect(refused.retryAfter).toBe('5')
    expect(refused.body).toMatchObject({ limit: 'CONCLAVE_MAX_TASKS_PER_COUNCIL' })
    for (const r of accepted) {
      await waitFor(() => agent.tasks.get(first, r.body.taskId)?.state === 'done', {
        timeoutMs: 20_000,
        message: `task ${r.body.taskId as string} not done`
      })
    }
    expect((await submit(10)).status).toBe(202)
    // With a retention of 0 the input goes at the next sweep; the result stays.
    const id = accepted[0]?.body.taskId as string
    await waitFor(() => agent.tasks.get(first, id)?.input === null, { timeoutMs: 15_000, message: 'input kept' })
    const view = (await (await apiFetch(agent, `/v1/councils/${first}/tasks/${id}`)).json()) as {
      input: unknown
      result: unknown
      state: string
    }
    expect(view).toMatchObject({ input: null, state: 'done' })
    expect(view.result).toBeDefined()
  })

  it('event stream: so many clients at once; one leaving makes room', async () => {
    const open = async (): Promise<{ res: Response; abort: AbortController }> => {
      const abort = new AbortController()
      return { res: await apiFetch(agent, '/v1/events', { signal: abort.signal }), abort }
    }
    const a = await open()
    const b = await open()
    expect([a.res.status, b.res.status]).toEqual([200, 200])
    const c = await open()
    expect(c.res.status).toBe(429)
    expect(c.res.headers.get('retry-after')).toBe('10')
    expect(await c.res.json()).toMatchObject({ limit: 'CONCLAVE_MAX_EVENT_CLIENTS' })
    a.abort.abort()
    await waitFor(
      async () => {
        const d = await open()
        d.abort.abort()
        return d.res.status === 200
      },
      { timeoutMs: 10_000, message: 'the slot of a client that left was not freed' }
    )
    b.abort.abort()
  })

  it('memory: answers stream, so many at once; a client that reads nothing holds only its own slot', async () => {
    const origin = randomBytes(8).toString('hex')
    const now = Date.now()
    const episodes: Episode[] = Array.from({ length: 4_000 }, (_, i) => ({
      id: episodeId(origin, i + 1),
      tenant: agent.tenancy.tenants[0] as string,
      origin,
      seq: i + 1,
      council: null,
      task: null,
      agent: 'bulk',
      role: null,
      summary: 'y'.repeat(1_000),
      reward: null,
      ts: now - 4_000 + i
    }))
    expect(agent.memory.import(episodes).added).toBe(4_000)
    // A client that asks for 4 MB and does not read it.
    const stalled = new AbortController()
    const held = await apiFetch(agent, '/v1/memory?limit=10000', { signal: stalled.signal })
    expect(held.status).toBe(200)
    const second = await apiFetch(agent, '/v1/memory?limit=1')
    expect(second.status).toBe(429)
    expect(await second.json()).toMatchObject({ limit: 'CONCLAVE_MAX_MEMORY_QUERIES' })
    // The agent keeps answering everything else meanwhile.
    expect((await apiFetch(agent, '/health')).status).toBe(200)
    stalled.abort()
    const all = await waitFor(
      async () => {
        const res = await apiFetch(agent, '/v1/memory?limit=10000')
        return res.status === 200 ? ((await res.json()) as Episode[]) : undefined
      },
      { timeoutMs: 10_000, message: 'the slot of a client that left was not freed' }
    )
    // Streamed in pages, the answer is the same as a whole one: the latest, oldest first.
    expect(all.filter(e => e.agent === 'bulk').map(e => e.seq)).toEqual(episodes.map(e => e.seq))
    const latest = (await (await apiFetch(agent, '/v1/memory?agent=bulk&limit=300')).json()) as Episode[]
    expect(latest.map(e => e.seq)).toEqual(episodes.slice(-300).map(e => e.seq))
    const since = (await (await apiFetch(agent, `/v1/memory?agent=bulk&since=${now - 10}&limit=5`)).json()) as Episode[]
    expect(since.map(e => e.seq)).toEqual([3_991, 3_992, 3_993, 3_994, 3_995])
  })
})
