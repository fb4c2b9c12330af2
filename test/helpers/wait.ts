/**
 * Wait until `check` returns a truthy value, polling every `intervalMs`, or fail after
 * `timeoutMs` with `message` and the last observed state. Tests wait on conditions, not sleeps.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  opts: { timeoutMs: number; intervalMs?: number; message: string | (() => string) }
): Promise<NonNullable<T>> {
  const deadline = Date.now() + opts.timeoutMs
  let lastError: unknown
  while (true) {
    try {
      const value = await check()
      if (value !== undefined && value !== null && value !== false) return value as NonNullable<T>
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      const message = typeof opts.message === 'function' ? opts.message() : opts.message
      throw new Error(
        `timed out after ${opts.timeoutMs} ms: ${message}${lastError !== undefined ? ` (last error: ${(lastError as Error).message})` : ''}`
      )
    }
    await new Promise(resolve => setTimeout(resolve, opts.intervalMs ?? 50))
  }
}
