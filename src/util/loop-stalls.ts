import { performance, type EventLoopUtilization } from 'node:perf_hooks'
import { everyTick, TICK_MS, type Ticking } from './ticker.js'

/** Lateness below this is timer noise, not a stall. */
const MIN_STALL_MS = 10
/** Stalls older than this are forgotten. */
const KEEP_MS = 60_000
/** Period of the fine sampler, which runs only while the loop is busy. */
const FINE_SAMPLE_MS = 25
/** Share of a tick the loop was busy above which the fine sampler runs. */
const BUSY_SHARE = 0.2

export interface LoopStalls {
  /** Longest stall of this process's event loop that ended after `since` (a `performance.now()` time). */
  longestSince: (since: number) => number
  /** Stop sampling for this user (the sampler stops with its last user). */
  release: () => void
}

let users = 0
let ticking: Ticking | undefined
let last = 0
let busy: EventLoopUtilization | undefined
let fine: ReturnType<typeof setInterval> | undefined
let lastFine = 0
let stalls: Array<{ at: number; ms: number }> = []

function record(now: number, ms: number): void {
  stalls.push({ at: now, ms })
  while (stalls.length > 0 && (stalls[0] as { at: number }).at < now - KEEP_MS) stalls.shift()
}

function sampleFine(): void {
  const now = performance.now()
  const lateMs = now - lastFine - FINE_SAMPLE_MS
  lastFine = now
  if (lateMs >= MIN_STALL_MS) record(now, lateMs)
}

/**
 * A stall delays the shared tick: a late tick shows there was one. An idle process has only the
 * tick (every wake-up costs it CPU); there a late tick's stall is sized by the time the loop was
 * busy since the previous tick, which one stall in an idle loop fills. Once the loop is busy
 * (where many short tasks would fill that time without any stall), a fine sampler runs as well,
 * and stalls are sized by lateness alone, to within its period.
 */
function sample(now: number): void {
  const lateMs = now - last - TICK_MS
  const since = performance.eventLoopUtilization(busy)
  busy = performance.eventLoopUtilization()
  last = now
  if (lateMs >= MIN_STALL_MS) record(now, fine === undefined ? Math.max(lateMs, since.active) : lateMs)
  if (since.utilization > BUSY_SHARE && fine === undefined) {
    lastFine = now
    fine = setInterval(sampleFine, FINE_SAMPLE_MS)
    fine.unref()
  } else if (since.utilization <= BUSY_SHARE && fine !== undefined) {
    clearInterval(fine)
    fine = undefined
  }
}

/**
 * Watch this process's event loop for stalls, as Lifeguard's local health does for memberlist:
 * a ping that timed out while our own loop was stalled says nothing about the peer. One sampler
 * serves every user in the process (agents of a sim share one loop, so they share its stalls).
 */
export function watchLoopStalls(): LoopStalls {
  if (users++ === 0) {
    last = performance.now()
    busy = performance.eventLoopUtilization()
    stalls = []
    ticking = everyTick(TICK_MS, sample)
  }
  let released = false
  return {
    longestSince: since => {
      let longest = 0
      for (const s of stalls) if (s.at > since && s.ms > longest) longest = s.ms
      // A stall still in progress (this call itself was late) counts too.
      const now = performance.now()
      const current = fine === undefined ? now - last - TICK_MS : now - lastFine - FINE_SAMPLE_MS
      return Math.max(longest, current)
    },
    release: () => {
      if (released) return
      released = true
      if (--users > 0) return
      ticking?.stop()
      clearInterval(fine)
      fine = undefined
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
