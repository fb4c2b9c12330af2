import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Behaviour, TaskInfo, TaskOutcome } from './behaviour.js'
import { defineBehaviour } from './behaviour.js'
import { MAX_SIMULATED_WORK_MS, SIMULATED_WORK_MS } from './constants.js'

/** The collaboration loop of the simulated roles: each result starts the next role's task. */
const NEXT_ROLE: Record<string, string | undefined> = { researcher: 'coder', coder: 'tester', tester: 'reviewer' }
export const SIMULATED_ROLES = ['researcher', 'coder', 'tester', 'reviewer'] as const

interface SimulatedInput {
  iteration?: number
  chain?: boolean
  workMs?: number
  topic?: string
}

function asInput(input: unknown): SimulatedInput {
  return typeof input === 'object' && input !== null
    ? (input as SimulatedInput)
    : { topic: typeof input === 'string' ? input : JSON.stringify(input) }
}

/** Deterministic work: the output and reward depend only on the role and the input. */
function work(task: TaskInfo): TaskOutcome {
  const input = asInput(task.input)
  const digest = createHash('sha256')
    .update(`${task.role}\u0000${JSON.stringify(task.input) ?? ''}`)
    .digest()
  const reward = Math.round((digest.readUInt16BE(0) / 0xffff) * 1000) / 1000
  const token = digest.subarray(2, 6).toString('hex')
  const iteration = typeof input.iteration === 'number' ? input.iteration : 0
  const output = {
    researcher: { findings: [`finding-${token}`], iteration },
    coder: { patch: `patch-${token}`, iteration },
    tester: { passed: 5 + ((digest[6] ?? 0) % 5), failed: (digest[7] ?? 0) % 2, iteration },
    reviewer: { approved: reward >= 0.3, iteration }
  }[task.role] ?? { done: `${task.role}-${token}`, iteration }
  const nextRole = input.chain === true ? NEXT_ROLE[task.role] : undefined
  return {
    output,
    summary: `${task.role} iteration ${iteration}: ${JSON.stringify(output)}`,
    reward,
    ...(nextRole !== undefined ? { next: { role: nextRole, input: { iteration, chain: true, previous: output } } } : {})
  }
}

/**
 * Simulated work for demos and tests (the federation scenario): `researcher`, `coder`, `tester`
 * and `reviewer` produce role-shaped outputs, any other role a generic one. The input may set
 * `workMs` (how long the work takes), `iteration`, and `chain: true` to start the next role.
 */
export function simulatedBehaviour(roles: string[] = ['*']): Behaviour {
  return defineBehaviour({
    name: roles.includes('*') ? 'simulated' : roles.join(','),
    roles,
    async onTask(task, ctx) {
      const requested = asInput(task.input).workMs
      const workMs =
        typeof requested === 'number' && requested >= 0 ? Math.min(requested, MAX_SIMULATED_WORK_MS) : SIMULATED_WORK_MS
      if (workMs > 0) await sleep(workMs, undefined, { signal: ctx.signal })
      return work(task)
    }
  })
}
