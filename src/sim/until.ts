import { DeadlineError } from '../util/errors.js'
/**
 * Resolve once `check` returns a truthy value, checking every `intervalMs`; reject with
 * `message` after `timeoutMs`. Scenario drivers wait on conditions, never on fixed sleeps.
 */
export async function until<T>(
  check: () => T | undefined | false,
  timeoutMs: number,
  message: () => string,
  intervalMs = 20
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const value = check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new DeadlineError(`timed out after ${timeoutMs} ms: ${message()}`)
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}
