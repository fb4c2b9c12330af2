/**
 * Task state that outlives trouble. The board survives a restart: a holder that crashed comes
 * back knowing every task of its council, finished ones with their results, and an unfinished one
 * still reaches its result. And results converge: an agent cut off while a task finished, which
 * saw its deadline pass and failed it, takes the holder's result once the network heals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Agent } from '../src/agent/index.js'
import { Sim } from '../src/sim/index.js'
import { waitFor } from './helpers/wait.js'

describe('task board across restarts', () => {
  let sim: Sim
  beforeAll(async () => {
    sim = await Sim.start({
      agents: 3,
      roles: i => (i === 2 ? ['tpm'] : ['coder']),
      overrides: { heartbeatMs: 300, deadAfterMs: 1_500, pingTimeoutMs: 500 }
    })
    await waitFor(() => sim.convergedCount() === 3, { timeoutMs: 30_000, message: 'mesh did not form' })
  }, 60_000)
  afterAll(async () => {
    await sim?.stop()
  })

  it('a crashed holder lists every task after its restart, and the unfinished one still finishes', async () => {
    const submitter = sim.agents[2] as Agent
    const council = await submitter.councils.open({ project: 'board', coreRoles: ['coder'] })
    await waitFor(() => sim.running.every(a => a.councils.get(council)?.state === 'active'), {
      timeoutMs: 20_000,
      message: 'council not active'
    })
    const ids: string[] = []
    for (let i = 0; i < 40; i++) {
      ids.push((await submitter.tasks.submit(council, { role: 'coder', input: { i } })).taskId)
    }
    await waitFor(() => ids.every(id => submitter.tasks.get(council, id)?.state === 'done'), {
      timeoutMs: 30_000,
      message: 'tasks not done'
    })
    const long = (await submitter.tasks.submit(council, { role: 'coder', input: { workMs: 1_500 }, timeoutMs: 60_000 }))
      .taskId
    ids.push(long)
    const holderId = submitter.councils.get(council)?.roster.find(s => s.role === 'coder')?.peerId
    const index = sim.agents.findIndex(a => a.peerId === holderId)
    const holder = sim.agents[index] as Agent
    await waitFor(() => holder.tasks.get(council, long)?.state === 'running', {
      timeoutMs: 10_000,
      message: 'long task not started'
    })
    expect(holder.tasks.list(council)).toHaveLength(41)

    await sim.crashAgent(holder)
    const back = await sim.restart(index)
    // Every task, straight from the data dir, before any peer told it anything.
    expect(
      back.tasks
        .list(council)
        .map(t => t.id)
        .sort()
    ).toEqual([...ids].sort())
    expect(back.tasks.list(council).filter(t => t.state === 'done')).toHaveLength(40)
    expect(back.tasks.get(council, ids[0] as string)?.result).toBeDefined()
    // The long task reaches a result, and every agent agrees on it.
    await waitFor(() => sim.running.every(a => a.tasks.get(council, long)?.state === 'done'), {
      timeoutMs: 60_000,
      message: () =>
        sim.running.map(a => `${a.config.name}: ${a.tasks.get(council, long)?.state ?? 'unknown'}`).join(', ')
    })
  })

  it("an agent that failed a task on its deadline while cut off takes the holder's result after the heal", async () => {
    const submitter = sim.agents[2] as Agent
    const council = await submitter.councils.open({ project: 'converge', coreRoles: ['coder'] })
    await waitFor(() => sim.running.every(a => a.councils.get(council)?.state === 'active'), {
      timeoutMs: 20_000,
      message: 'council not active'
    })
    const holderId = submitter.councils.get(council)?.roster.find(s => s.role === 'coder')?.peerId
    const cutOff = sim.running.find(a => a.peerId !== holderId && a !== submitter) as Agent
    const { taskId } = await submitter.tasks.submit(council, {
      role: 'coder',
      input: { workMs: 800 },
      timeoutMs: 1_500
    })
    await waitFor(() => cutOff.tasks.get(council, taskId) !== undefined, {
      timeoutMs: 5_000,
      message: 'the task did not reach the agent to cut off'
    })
    await sim.partition([cutOff])
    await waitFor(() => submitter.tasks.get(council, taskId)?.state === 'done', {
      timeoutMs: 10_000,
      message: 'task not done at the submitter'
    })
    // Cut off, the agent saw the deadline pass without a result.
    await waitFor(() => cutOff.tasks.get(council, taskId)?.state === 'failed', {
      timeoutMs: 10_000,
      message: 'the cut-off agent did not time the task out'
    })
    expect(cutOff.tasks.get(council, taskId)?.error).toMatch(/timed out/)
    await sim.heal()
    await waitFor(() => cutOff.tasks.get(council, taskId)?.state === 'done', {
      timeoutMs: 60_000,
      message: () => `still ${cutOff.tasks.get(council, taskId)?.state ?? 'unknown'} at the agent that was cut off`
    })
    expect(cutOff.tasks.get(council, taskId)?.result).toEqual(submitter.tasks.get(council, taskId)?.result)
  })
})
