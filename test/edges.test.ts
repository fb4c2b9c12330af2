/**
 * The edges of an agent's life through the real CLI: one agent per data dir, and an exit after
 * SIGTERM even when something keeps the event loop busy.
 */
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { agentEnv, killAll, runCli, startAgent } from './helpers/cli.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conclave-edges-'))
})
afterEach(killAll)
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Resolves with the exit code, or 'still running' after `ms`. */
async function exitWithin(proc: { exited: Promise<number | string> }, ms: number): Promise<number | string> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const result = await Promise.race([
    proc.exited,
    new Promise<string>(resolve => {
      timer = setTimeout(() => {
        resolve('still running')
      }, ms)
    })
  ])
  clearTimeout(timer)
  return result
}

describe('edges', () => {
  it('refuses a second agent on a data dir in use (exit 2 naming CONCLAVE_DATA_DIR), and takes it back after a kill -9', async () => {
    const env = agentEnv(dir, 'locked')
    const first = await startAgent(env)
    const second = runCli(['start'], { ...env, CONCLAVE_LOG_LEVEL: 'info' })
    expect(await exitWithin(second, 15_000)).toBe(2)
    expect(second.stderr()).toMatch(/CONCLAVE_DATA_DIR: data dir .*locked is in use by another running agent/)
    first.child.kill('SIGKILL')
    await first.exited
    // The kernel dropped the lock with the process: no stale lock to clear by hand.
    const third = await startAgent(env)
    expect(third.peerId).toBe(first.peerId)
  })

  it('exits within 5 s of SIGTERM even when a behaviour module leaves a timer running', async () => {
    const module = join(dir, 'leaky.mjs')
    await writeFile(
      module,
      "setInterval(() => {}, 1_000)\nexport default { roles: ['coder'], onTask: async () => ({ ok: true }) }\n"
    )
    const agent = await startAgent(agentEnv(dir, 'leaky', { CONCLAVE_BEHAVIOUR: module, CONCLAVE_ROLES: 'coder' }))
    agent.child.kill('SIGTERM')
    expect(await exitWithin(agent, 6_000)).toBe(0)
  })

  it('keeps its key and its episode database private: made 0600, and narrowed with a warning when looser', async () => {
    const env = agentEnv(dir, 'modes')
    const mode = async (file: string): Promise<number> => (await stat(join(dir, 'modes', file))).mode & 0o777
    const first = await startAgent(env)
    expect([await mode('identity.key'), await mode('memory.db'), await mode('api.token')]).toEqual([
      0o600, 0o600, 0o600
    ])
    first.child.kill('SIGTERM')
    expect(await first.exited).toBe(0)
    await chmod(join(dir, 'modes', 'identity.key'), 0o644)
    await chmod(join(dir, 'modes', 'memory.db'), 0o644)
    const again = await startAgent(env)
    expect([await mode('identity.key'), await mode('memory.db')]).toEqual([0o600, 0o600])
    expect(again.stderr()).toMatch(/identity\.key.*readable by others: its mode is now 0600/)
    expect(again.stderr()).toMatch(/memory\.db.*readable by others: its mode is now 0600/)
  })
})
