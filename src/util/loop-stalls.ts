import { performance } from 'node:perf_hooks'

/** How often the sampler's timer should fire; any lateness beyond this is a stall. */
const SAMPLE_MS = 25
/** Lateness below this is timer noise, not a stall. */
const MIN_STALL_MS = 10
/** Stalls older than this are forgotten. */
const KEEP_MS = 60_000

export interface LoopStalls {
  /** Longest stall of this process's event loop that ended after `since` (a `performance.now()` time). */
  longestSince: (since: number) => number
  /** Stop sampling for this user (the sampler stops with its last user). */
  release: () => void
}

let users = 0
let timer: ReturnType<typeof setInterval> | undefined
let last = 0
let stalls: Array<{ at: number; ms: number }> = []

function sample(): void {
  const now = performance.now()
  const ms = now - last - SAMPLE_MS
  last = now
  if (ms >= MIN_STALL_MS) stalls.push({ at: now, ms })
  while (stalls.length > 0 && (stalls[0] as { at: number }).at < now - KEEP_MS) stalls.shift()
}

/**
 * Watch this process's event loop for stalls, as Lifeguard's local health does for memberlist:
 * a ping that timed out while our own loop was stalled says nothing about the peer. One sampler
 * serves every user in the process (agents of a sim share one loop, so they share its stalls).
 */
export function watchLoopStalls(): LoopStalls {
  if (users++ === 0) {
    last = performance.now()
    stalls = []
    timer = setInterval(sample, SAMPLE_MS)
    timer.unref()
  }
  let released = false
  return {
    longestSince: since => {
      let longest = 0
      for (const s of stalls) if (s.at > since && s.ms > longest) longest = s.ms
      // A stall still in progress (this call itself was late) counts too.
      return Math.max(longest, performance.now() - last - SAMPLE_MS)
    },
    release: () => {
      if (released) return
      released = true
      if (--users === 0) clearInterval(timer)
    }
  }
}

/** Work done back to back before `yieldIfBusy` lets timers and I/O run. */
const YIELD_AFTER_MS = 10
let lastYield = performance.now()

/**
 * Let timers and I/O run if this process has worked through promise callbacks for a while.
 * Node runs every queued promise callback before the next timer or socket event, and a stream of
 * buffered gossip is handled entirely in promise callbacks: a burst of messages kept probes,
 * health checks and the API waiting for most of a second. Awaited at the start of each message's
 * validation, it costs nothing when the loop is idle and one macrotask hop every `YIELD_AFTER_MS`
 * under load.
 */
export async function yieldIfBusy(): Promise<void> {
  const now = performance.now()
  if (now - lastYield < YIELD_AFTER_MS) return
  await new Promise<void>(resolve => {
    setImmediate(resolve)
  })
  lastYield = performance.now()
}
