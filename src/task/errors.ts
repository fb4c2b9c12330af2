/** A task request (HTTP body, CLI flags) is invalid; `field` names what to fix. */
export class TaskRequestError extends Error {
  static readonly code = 'ERR_TASK_REQUEST'
  override readonly name = 'TaskRequestError'
  readonly code = TaskRequestError.code
  readonly field: string

  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`)
    this.field = field
  }
}

/** The council has no such role, so no holder could ever take the task. */
export class UnknownRoleError extends Error {
  static readonly code = 'ERR_UNKNOWN_ROLE'
  override readonly name = 'UnknownRoleError'
  readonly code = UnknownRoleError.code

  constructor(council: string, role: string, roles: string[]) {
    super(`council ${council} has no role ${role} (its roles: ${roles.join(', ')})`)
  }
}

/** A task id was reused for a different task (another council or role). */
export class TaskConflictError extends Error {
  static readonly code = 'ERR_TASK_CONFLICT'
  override readonly name = 'TaskConflictError'
  readonly code = TaskConflictError.code

  constructor(id: string) {
    super(`task ${id} already exists with another council or role`)
  }
}

/** The council ended: it takes no more tasks. */
export class CouncilEndedError extends Error {
  static readonly code = 'ERR_COUNCIL_ENDED'
  override readonly name = 'CouncilEndedError'
  readonly code = CouncilEndedError.code

  constructor(id: string, state: string) {
    super(`council ${id} is ${state} and takes no tasks`)
  }
}

/** A task could not run or finish here: no behaviour for its role, an output too big, the agent stopping. */
export class TaskRunError extends Error {
  static readonly code = 'ERR_TASK_RUN'
  override readonly name = 'TaskRunError'
  readonly code = TaskRunError.code
}
