/**
 * Tasks in councils with real agents in one process: the HTTP contract (bad bodies, unknown
 * council or role, oversized input, idempotent ids), a user behaviour module recording its own
 * episodes, and the llm behaviour against a local OpenAI-compatible server.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Agent } from '../src/agent/index.js'
import { llmBehaviour } from '../src/agent/index.js'
import type { CouncilView } from '../src/council/index.js'
import { Sim } from '../src/sim/index.js'
import type { TaskView } from '../src/task/index.js'
import { completion, startLlmServer, type LlmServer } from './helpers/llm-server.js'
import { waitFor } from './helpers/wait.js'
import { apiFetch } from './helpers/api.js'

async function call(
  agent: Agent,
  method: string,
  path: string,
  body?: unknown
): Promise<{ status: number; body: any }> {
  const res = await apiFetch(agent, `${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {})
  })
  return { status: res.status, body: await res.json() }
}

async function activeCouncil(sim: Sim, opener: Agent, body: unknown): Promise<string> {
  const id = await opener.councils.open(body)
  await waitFor(() => sim.running.every(a => a.councils.get(id)?.state === 'active'), {
    timeoutMs: 20_000,
    message: () => `council ${id}: ${sim.running.map(a => a.councils.get(id)?.state ?? 'none').join(',')}`
  })
  return id
}

async function finished(agent: Agent, council: string, id: string, timeoutMs = 15_000): Promise<TaskView> {
  return await waitFor(
    () => {
      const t = agent.tasks.get(council, id)
      return t !== undefined && (t.state === 'done' || t.state === 'failed') ? t : undefined
    },
    { timeoutMs, message: () => `task ${id}: ${JSON.stringify(agent.tasks.get(council, id))}` }
  )
}

describe('tasks through the HTTP API', () => {
  let sim: Sim
  let dir: string
  let council: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conclave-tasks-'))
    // A user behaviour module: a plain object (defineBehaviour's shape) that records an extra episode.
    const module = join(dir, 'reviewer.mjs')
    await writeFile(
      module,
      `export default {
      name: 'strict-reviewer',
      roles: ['reviewer'],
      async onTask (task, ctx) {
        await ctx.memory.record({ summary: 'looked at ' + JSON.stringify(task.input), reward: 0.5, data: { lines: 3 } })
        return { output: { verdict: 'approved', by: ctx.council.project, attempt: task.attempt }, summary: 'approved', reward: 1 }
      }
    }\n`
    )
    sim = await Sim.start({
      agents: 3,
      roles: i => [['coder', 'coder', 'reviewer'][i] as string],
      overrides: { behaviour: ['simulated', module] }
    })
    await waitFor(() => sim.convergedCount() === 3, { timeoutMs: 20_000, message: 'mesh did not form' })
    council = await activeCouncil(sim, sim.agents[0] as Agent, {
      project: 'apollo',
      coreRoles: ['coder'],
      optionalRoles: ['reviewer']
    })
  }, 60_000)
  afterAll(async () => {
    await sim?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('refuses bad bodies with 400 naming the field, unknown councils and roles with 404', async () => {
    const a = sim.agents[0] as Agent
    const post = async (body: unknown, id = council): Promise<{ status: number; body: any }> =>
      await call(a, 'POST', `/v1/councils/${id}/tasks`, body)
    expect(await post('{not json')).toMatchObject({ status: 400, body: { error: 'body is not JSON' } })
    expect(await post({ input: 1 })).toMatchObject({ status: 400, body: { field: 'role' } })
    expect(await post({ role: 'coder' })).toMatchObject({ status: 400, body: { field: 'input' } })
    expect(await post({ role: 'coder', input: 1, timeoutMs: 5 })).toMatchObject({
      status: 400,
      body: { field: 'timeoutMs' }
    })
    expect(await post({ role: 'coder', input: 1, colour: 'red' })).toMatchObject({ status: 400 })
    expect(await post({ role: 'coder', input: 1, id: 'bad id!' })).toMatchObject({ status: 400, body: { field: 'id' } })
    const oversized = await post({ role: 'coder', input: 'x'.repeat(70 * 1024) })
    expect(oversized).toMatchObject({ status: 400, body: { field: 'input' } })
    expect(oversized.body.error).toMatch(/exceeds 65536 bytes/)
    const noRole = await post({ role: 'designer', input: 1 })
    expect(noRole.status).toBe(404)
    expect(noRole.body.error).toMatch(/no role designer/)
    expect(await post({ role: 'coder', input: 1 }, 'no-such-council')).toMatchObject({
      status: 404,
      body: { error: 'no council no-such-council' }
    })
    expect((await call(a, 'GET', '/v1/councils/no-such-council/tasks')).status).toBe(404)
    expect((await call(a, 'GET', `/v1/councils/${council}/tasks/unknown`)).status).toBe(404)
  })

  it('runs a task at the holder, visible identically at every member; a retried id is one task', async () => {
    const submitter = sim.agents[2] as Agent
    const first = await call(submitter, 'POST', `/v1/councils/${council}/tasks`, {
      role: 'coder',
      input: { iteration: 1 },
      id: 'retry-me'
    })
    const again = await call(submitter, 'POST', `/v1/councils/${council}/tasks`, {
      role: 'coder',
      input: { iteration: 1 },
      id: 'retry-me'
    })
    expect(first).toEqual({ status: 202, body: { taskId: 'retry-me' } })
    expect(again).toEqual({ status: 202, body: { taskId: 'retry-me' } })
    expect(
      (await call(submitter, 'POST', `/v1/councils/${council}/tasks`, { role: 'reviewer', input: 1, id: 'retry-me' }))
        .status
    ).toBe(409)
    const view = submitter.councils.get(council) as CouncilView
    const holder = view.roster.find(s => s.role === 'coder')?.peerId
    const done = await finished(submitter, council, 'retry-me')
    expect(done).toMatchObject({
      state: 'done',
      holder,
      epoch: view.epoch,
      attempts: 1,
      result: { patch: expect.stringMatching(/^patch-/), iteration: 1 }
    })
    await waitFor(() => sim.running.every(a => a.tasks.get(council, 'retry-me')?.state === 'done'), {
      timeoutMs: 10_000,
      message: 'not every member saw the result'
    })
    const listed = await call(sim.agents[1] as Agent, 'GET', `/v1/councils/${council}/tasks`)
    expect(listed.body.filter((t: TaskView) => t.id === 'retry-me')).toHaveLength(1)
    // Exactly one episode for the task, replicated to every member.
    await waitFor(
      () => sim.running.every(a => a.memory.query({ council }).filter(e => e.task === 'retry-me').length === 1),
      { timeoutMs: 10_000, message: 'episode not replicated once everywhere' }
    )
    expect(
      sim.running.flatMap(a =>
        a.memory
          .query({ council })
          .filter(e => e.task === 'retry-me')
          .map(e => e.agent)
      )
    ).toEqual([holder, holder, holder])
  })

  it('a submit that reached nobody is sent again until the holder starts the task', async () => {
    const submitter = sim.agents[0] as Agent
    const tasks = submitter.tasks as unknown as { send: (tenant: string, m: { type: string }) => Promise<void> }
    const send = tasks.send.bind(submitter.tasks)
    let dropped = 0
    // The first submit is lost (a mesh still forming, say); everything after goes out.
    tasks.send = async (tenant, m) => {
      if (m.type === 'submit' && dropped++ === 0) return
      await send(tenant, m)
    }
    try {
      const { taskId } = await submitter.tasks.submit(council, { role: 'reviewer', input: 'resend me' })
      const done = await finished(submitter, council, taskId)
      expect(done.state).toBe('done')
      expect(done.holder).toBe((sim.agents[2] as Agent).peerId)
      expect(dropped).toBeGreaterThan(1)
    } finally {
      tasks.send = send
    }
  })

  it('a holder whose start and result reached nobody reports its result again when the task is sent again', async () => {
    const submitter = sim.agents[0] as Agent
    const holder = sim.agents[2] as Agent
    const tasks = holder.tasks as unknown as {
      send: (tenant: string, m: { type: string; id?: string }) => Promise<void>
    }
    const send = tasks.send.bind(holder.tasks)
    const lost: string[] = []
    // The holder's first start and first result are lost.
    tasks.send = async (tenant, m) => {
      if ((m.type === 'start' || m.type === 'result') && !lost.includes(m.type)) {
        lost.push(m.type)
        return
      }
      await send(tenant, m)
    }
    try {
      const { taskId } = await submitter.tasks.submit(council, { role: 'reviewer', input: 'report again' })
      await waitFor(() => holder.tasks.get(council, taskId)?.state === 'done', {
        timeoutMs: 10_000,
        message: 'the holder did not finish'
      })
      const done = await finished(submitter, council, taskId)
      expect(done).toMatchObject({ state: 'done', holder: holder.peerId })
      expect(lost).toEqual(['start', 'result'])
    } finally {
      tasks.send = send
    }
  })

  it('a user behaviour module runs its role and records episodes through ctx.memory', async () => {
    const a = sim.agents[0] as Agent
    const { body } = await call(a, 'POST', `/v1/councils/${council}/tasks`, { role: 'reviewer', input: { pr: 7 } })
    const done = await finished(a, council, body.taskId as string)
    expect(done).toMatchObject({ state: 'done', result: { verdict: 'approved', by: 'apollo', attempt: 1 } })
    const reviewer = (sim.agents[2] as Agent).peerId
    await waitFor(
      () => a.memory.query({ council, role: 'reviewer' }).filter(e => e.task === body.taskId).length === 2,
      { timeoutMs: 10_000, message: 'reviewer episodes not replicated' }
    )
    const episodes = a.memory.query({ council, role: 'reviewer' }).filter(e => e.task === body.taskId)
    expect(episodes.map(e => [e.agent, e.summary, e.reward])).toEqual([
      [reviewer, 'looked at {"pr":7}', 0.5],
      [reviewer, 'approved', 1]
    ])
    expect(episodes[0]?.data).toEqual({ lines: 3 })
  })

  it('serves memory queries with filters and stats, and refuses bad parameters naming them', async () => {
    const a = sim.agents[1] as Agent
    const all = await call(a, 'GET', `/v1/memory?council=${council}&limit=1000`)
    expect(all.status).toBe(200)
    expect(all.body.length).toBeGreaterThanOrEqual(3)
    const reviewer = (sim.agents[2] as Agent).peerId
    const byAgent = await call(a, 'GET', `/v1/memory?agent=${reviewer}`)
    expect(byAgent.body.length).toBeGreaterThan(0)
    expect(byAgent.body.every((e: { agent: string }) => e.agent === reviewer)).toBe(true)
    expect((await call(a, 'GET', '/v1/memory?limit=2')).body).toHaveLength(2)
    expect((await call(a, 'GET', `/v1/memory?since=${Date.now() + 60_000}`)).body).toEqual([])
    expect(await call(a, 'GET', '/v1/memory?limit=abc')).toMatchObject({ status: 400, body: { field: 'limit' } })
    expect(await call(a, 'GET', '/v1/memory?limit=0')).toMatchObject({ status: 400, body: { field: 'limit' } })
    expect(await call(a, 'GET', '/v1/memory?colour=red')).toMatchObject({ status: 400, body: { field: 'colour' } })
    const stats = await call(a, 'GET', '/v1/memory/stats')
    expect(stats.body.tenants).toEqual([
      expect.objectContaining({ tenant: 'demo', episodes: all.body.length, agents: 2 })
    ])
  })
})

describe('llm behaviour', () => {
  let server: LlmServer
  beforeAll(async () => {
    server = await startLlmServer()
  })
  afterAll(async () => {
    await server.close()
  })

  const council = {
    id: 'c1',
    tenant: 't',
    project: 'apollo',
    state: 'active',
    epoch: 1,
    coordinator: null,
    roster: [],
    members: [],
    coreRoles: ['coder'],
    optionalRoles: [],
    createdAt: 0,
    activatedAt: 0
  } satisfies CouncilView
  const run = async (timeoutMs = 2_000, signal = new AbortController().signal): Promise<unknown> => {
    const b = llmBehaviour({ url: server.url, model: 'tiny', timeoutMs, apiKey: 'k-123' })
    const task = { id: 't1', council: 'c1', role: 'coder', input: 'write a haiku', attempt: 1, epoch: 1 }
    return await b.onTask(task, { council, task, signal, log: undefined as never, memory: undefined as never })
  }

  it('sends the role, project and input, and returns the completion', async () => {
    server.reply = req => completion(`${req.model} says hi`)
    expect(await run()).toEqual({ output: 'tiny says hi', summary: 'tiny says hi', reward: null })
    const req = server.requests.at(-1)
    expect(req?.messages[0]?.content).toMatch(/coder .*"apollo"/)
    expect(req?.messages[1]).toEqual({ role: 'user', content: 'write a haiku' })
  })

  it('fails with LlmError on HTTP errors, malformed replies, timeouts and an unreachable endpoint', async () => {
    server.reply = () => ({ status: 503, body: '{"error":"model is loading"}' })
    await expect(run()).rejects.toMatchObject({
      name: 'LlmError',
      message: expect.stringMatching(/answered 503: .*model is loading/)
    })
    server.reply = () => ({ status: 200, body: 'not json' })
    await expect(run()).rejects.toMatchObject({ name: 'LlmError', message: expect.stringMatching(/not JSON/) })
    server.reply = () => ({ status: 200, body: '{"choices":[]}' })
    await expect(run()).rejects.toMatchObject({ name: 'LlmError', message: expect.stringMatching(/without choices/) })
    server.reply = () => 'hang'
    await expect(run(300)).rejects.toMatchObject({
      name: 'LlmError',
      message: expect.stringMatching(/did not answer within 300 ms/)
    })
    const unreachable = llmBehaviour({ url: 'http://127.0.0.1:9/v1', model: 'tiny' })
    const task = { id: 't1', council: 'c1', role: 'coder', input: 'x', attempt: 1, epoch: 1 }
    await expect(
      unreachable.onTask(task, {
        council,
        task,
        signal: new AbortController().signal,
        log: undefined as never,
        memory: undefined as never
      })
    ).rejects.toMatchObject({ name: 'LlmError', message: expect.stringMatching(/unreachable/) })
  })

  it('drives a council task end to end, and a failing endpoint fails the task with the reason', async () => {
    server.reply = req => completion(`reply to ${req.messages.at(-1)?.content ?? ''}`)
    const sim = await Sim.start({
      agents: 2,
      roles: () => ['coder'],
      overrides: { behaviour: ['llm'], llmUrl: server.url, llmModel: 'tiny', llmTimeoutMs: 1_000 }
    })
    try {
      await waitFor(() => sim.convergedCount() === 2, { timeoutMs: 20_000, message: 'mesh did not form' })
      const id = await activeCouncil(sim, sim.agents[0] as Agent, { project: 'llm', coreRoles: ['coder'] })
      const a = sim.agents[1] as Agent
      const ok = await a.tasks.submit(id, { role: 'coder', input: 'hello' })
      expect(await finished(a, id, ok.taskId)).toMatchObject({ state: 'done', result: 'reply to hello' })
      server.reply = () => 'hang'
      const slow = await a.tasks.submit(id, { role: 'coder', input: 'slow' })
      const failed = await finished(a, id, slow.taskId)
      expect(failed.state).toBe('failed')
      expect(failed.error).toMatch(/did not answer within 1000 ms/)
    } finally {
      await sim.stop()
    }
  }, 60_000)
})
