import type { CouncilView } from '../council/index.js'
import type { Logger } from '../logger/index.js'
import type { Episode, EpisodeInput } from '../memory/index.js'
import { BehaviourError } from './errors.js'

/** A task as its holder's behaviour sees it. */
export interface TaskInfo {
  id: string
  council: string
  role: string
  input: unknown
  /** Dispatch number: 2 and up when an earlier holder was lost. */
  attempt: number
  /** Council epoch under which this agent holds the role. */
  epoch: number
  /** The task whose result started this one. */
  parent?: string
}

/** The agent's memory, scoped to the council's tenant. */
export interface BehaviourMemory {
  /** Record an episode (council, task and role default to the current task's); replicated to the tenant. */
  record(episode: EpisodeInput): Promise<Episode>
  /** Episodes of the tenant, newest `limit` (default 100), optionally filtered. */
  recent(filter?: { council?: string; agent?: string; role?: string; limit?: number }): Episode[]
}

export interface TaskContext {
  council: CouncilView
  task: TaskInfo
  memory: BehaviourMemory
  log: Logger
  /** Aborted when the task times out, the agent loses the seat, or the agent stops. */
  signal: AbortSignal
}

/** What `onTask` returns. The episode of the task is recorded from `summary` and `reward`. */
export interface TaskOutcome {
  /** The task's result (JSON). */
  output?: unknown
  /** One line for the episode; by default the start of the output as JSON. */
  summary?: string
  /** How well it went, for learning across agents. */
  reward?: number | null
  /** Start this task next in the same council (a collaboration loop). */
  next?: { role: string; input: unknown }
}

export interface Behaviour {
  name: string
  /** Roles it works for; `*` for any role. */
  roles: string[]
  onTask(task: TaskInfo, ctx: TaskContext): TaskOutcome | undefined | Promise<TaskOutcome | undefined>
}

export interface BehaviourDefinition {
  /** @default 'custom' */
  name?: string
  roles: string[]
  onTask: Behaviour['onTask']
}

/** Declare what an agent does for its roles. Throws `BehaviourError` on a malformed definition. */
export function defineBehaviour(definition: BehaviourDefinition): Behaviour {
  const problem = problemOf(definition)
  if (problem !== undefined) throw new BehaviourError(problem)
  return { name: definition.name ?? 'custom', roles: [...definition.roles], onTask: definition.onTask }
}

/** Why a value is not a behaviour definition (user modules are checked with it). */
export function problemOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) {
    return 'a behaviour must be an object made with defineBehaviour({ roles, onTask })'
  }
  const v = value as Partial<BehaviourDefinition>
  if (
    !Array.isArray(v.roles) ||
    v.roles.length === 0 ||
    !v.roles.every(r => typeof r === 'string' && /^(\*|[a-z0-9][a-z0-9-]{0,63})$/.test(r))
  ) {
    return 'roles must be a non-empty array of role names (lower-case letters, digits, "-") or "*"'
  }
  if (typeof v.onTask !== 'function') return 'onTask must be a function (task, ctx) => outcome'
  if (v.name !== undefined && typeof v.name !== 'string') return 'name must be a string'
  return undefined
}

/** The behaviours of one agent: the first that works for a role handles its tasks. */
export class BehaviourSet {
  readonly behaviours: readonly Behaviour[]

  constructor(behaviours: Behaviour[]) {
    this.behaviours = behaviours
  }

  for(role: string): Behaviour | undefined {
    return this.behaviours.find(b => b.roles.includes(role)) ?? this.behaviours.find(b => b.roles.includes('*'))
  }
}
