/** A core asked to be woken at the same instant again and again: a bug in the core, not in the run. */
export class CoreLivelockError extends Error {
  constructor(
    readonly agent: number,
    readonly at: number,
    limit: number
  ) {
    super(`agent ${agent} asked to be woken at ${at} ms more than ${limit} times: its core is stuck`)
    this.name = 'CoreLivelockError'
  }
}
