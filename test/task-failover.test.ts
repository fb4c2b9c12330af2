/**
 * No task is lost with its holder: separate agent processes, the holder killed with SIGKILL in
 * the middle of a task; the task completes on the new holder under a new epoch, once.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { agentEnv, getJson, killAll, runCli, startAgent, type StartedAgent } from './helpers/cli.js'
import { waitFor } from './helpers/wait.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conclave-failover-'))
})
afterEach(killAll)
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

interface TaskJson {
  state: string
  holder: string | null
  epoch: number
  attempts: number
  result?: { iteration: number }
}
interface CouncilJson {
  state: string
  epoch: number
  roster: Array<{ role: string; peerId: string }>
}

const FAST = { CONCLAVE_ROLES: 'coder', CONCLAVE_DEAD_AFTER_MS: '1000', CONCLAVE_PING_TIMEOUT_MS: '300' }

describe('task failover across processes', () => {
  it('kill -9 of the holder mid-task: the new holder completes it under a new epoch, one result', async () => {
    const a = await startAgent(agentEnv(dir, 'a', FAST))
    const boot = { CONCLAVE_BOOTSTRAP: a.addrs[0] as string }
    const b = await startAgent(agentEnv(dir, 'b', { ...FAST, ...boot }))
    const c = await startAgent(agentEnv(dir, 'c', { ...FAST, ...boot }))
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

    const opened = runCli([
      'council',
      'open',
      '--api',
      a.api,
      '--token',
      a.token,
      '--project',
      'failover',
      '--core',
      'coder',
      '--wait',
      '--timeout-ms',
      '20000'
    ])
    expect(await opened.exited).toBe(0)
    const council = opened.stdout().trim()
    const before = await waitFor(
      async () => {
        const views = await Promise.all(
          all.map(async x => (await getJson<CouncilJson>(`${x.api}/v1/councils/${council}`)).body)
        )
        return views.every(v => v.state === 'active' && v.epoch === views[0]?.epoch) ? views[0] : undefined
      },
      { timeoutMs: 15_000, message: 'council not active everywhere' }
    )
    const holderId = before.roster.find(s => s.role === 'coder')?.peerId
    const holder = all.find(x => x.peerId === holderId) as StartedAgent
    const survivors = all.filter(x => x !== holder)
    const watcher = survivors[0] as StartedAgent

    const submitted = runCli([
      'task',
      'run',
      '--api',
      watcher.api,
      '--token',
      watcher.token,
      '--council',
      council,
      '--role',
      'coder',
      '--input',
      '{"iteration":7,"workMs":4000}',
      '--id',
      'long-task',
      '--no-wait'
    ])
    expect(await submitted.exited).toBe(0)
    expect(submitted.stdout().trim()).toBe('long-task')
    const url = (x: StartedAgent): string => `${x.api}/v1/councils/${council}/tasks/long-task`
    await waitFor(
      async () => {
        const t = (await getJson<TaskJson>(url(watcher))).body
        return t.state === 'running' && t.holder === holderId
      },
      { timeoutMs: 10_000, message: 'task did not start at the holder' }
    )

    holder.child.kill('SIGKILL')
    expect(await holder.exited).toBe('SIGKILL')

    const done = await waitFor(
      async () => {
        const views = await Promise.all(survivors.map(async x => (await getJson<TaskJson>(url(x))).body))
        return views.every(v => v.state === 'done') ? views : undefined
      },
      { timeoutMs: 30_000, message: 'task did not complete on a new holder' }
    )
    for (const view of done) {
      expect(view.holder).not.toBe(holderId)
      expect(survivors.map(s => s.peerId)).toContain(view.holder)
      expect(view.epoch).toBeGreaterThan(before.epoch)
      expect(view.attempts).toBe(2)
      expect(view.result?.iteration).toBe(7)
    }
    // One accepted result means one episode for the task, at every survivor.
    await waitFor(
      async () => {
        const counts = await Promise.all(
          survivors.map(
            async x =>
              (await getJson<Array<{ task: string }>>(`${x.api}/v1/memory?council=${council}`)).body.filter(
                e => e.task === 'long-task'
              ).length
          )
        )
        return counts.every(n => n === 1)
      },
      { timeoutMs: 10_000, message: 'expected exactly one episode of the task at each survivor' }
    )

    // `task run` waits for the result by default and prints it.
    const quick = runCli([
      'task',
      'run',
      '--api',
      watcher.api,
      '--token',
      watcher.token,
      '--council',
      council,
      '--role',
      'coder',
      '--input',
      '{"iteration":8}'
    ])
    expect(await quick.exited).toBe(0)
    expect(JSON.parse(quick.stdout())).toMatchObject({ result: { iteration: 8 } })
    const unknownRole = runCli([
      'task',
      'run',
      '--api',
      watcher.api,
      '--token',
      watcher.token,
      '--council',
      council,
      '--role',
      'designer',
      '--input',
      '1'
    ])
    expect(await unknownRole.exited).toBe(2)
    expect(unknownRole.stderr()).toMatch(/no role designer/)
    const tooBig = runCli([
      'task',
      'run',
      '--api',
      watcher.api,
      '--token',
      watcher.token,
      '--council',
      council,
      '--role',
      'coder',
      '--input',
      JSON.stringify('x'.repeat(70_000))
    ])
    expect(await tooBig.exited).toBe(2)
    expect(tooBig.stderr()).toMatch(/--input: .*exceeds/)
  }, 120_000)
})
