/**
 * `promise`'s outcome if it settles within `ms`, else what `late()` returns (or throws) then.
 * The timer is cleared either way. The promise itself goes on: the caller decides what a late
 * settlement means (usually nothing).
 */
export async function within<T>(promise: Promise<T>, ms: number, late: () => T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(late())
      } catch (err) {
        reject(err)
      }
    }, ms)
  })
  try {
    return await Promise.race([promise, deadline])
  } finally {
    clearTimeout(timer)
  }
}
