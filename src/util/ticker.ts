/**
 * One clock per process for every periodic check of every agent in it, as etcd/raft drives all of
 * its timeouts from one `Tick`. Each timer firing wakes the process, and a wake-up is what an idle
 * agent pays for: measured on this project's 2-core VMs, an idle Node process is charged 120 to
 * 400 µs of CPU per wake-up, so an agent whose services each kept their own interval (a 25 ms
 * stall sampler, 250 ms and 500 ms checks, a probe turn a second) woke about 60 times a second
 * and spent most of its idle CPU waking. On one shared tick the checks that fall due together run
 * in one wake-up, and the agents a process runs (a sim, a benchmark worker) share it too.
 */
import { performance } from 'node:perf_hooks'

/** The shared timer's period; periodic checks run every whole number of ticks. */
export const TICK_MS = 250

export interface Ticking {
  /** No more calls. */
  stop: () => void
}

interface Entry {
  /** Runs every `every` ticks, on ticks whose count is a multiple of it (aligned with the others). */
  every: number
  fn: (now: number) => void
}

const entries = new Set<Entry>()
let timer: ReturnType<typeof setInterval> | undefined
let count = 0

function tick(): void {
  count++
  const now = performance.now()
  for (const entry of [...entries]) {
    if (count % entry.every !== 0 || !entries.has(entry)) continue
    try {
      entry.fn(now)
    } catch (err) {
      // As from a timer of its own: the error surfaces, and the other checks still run.
      queueMicrotask(() => {
        throw err
      })
    }
  }
}

/**
 * Call `fn` about every `periodMs` on the process's shared tick (rounded to whole ticks), with
 * the tick's `performance.now()`. A period shorter than a tick gets a timer of its own (test
 * settings); the process does not stay alive for these calls alone (the timers are unref'd).
 */
export function everyTick(periodMs: number, fn: (now: number) => void): Ticking {
  if (periodMs < TICK_MS) {
    const own = setInterval(() => {
      fn(performance.now())
    }, periodMs)
    own.unref()
    return { stop: () => clearInterval(own) }
  }
  const entry: Entry = { every: Math.max(1, Math.round(periodMs / TICK_MS)), fn }
  entries.add(entry)
  if (timer === undefined) {
    timer = setInterval(tick, TICK_MS)
    timer.unref()
  }
  return {
    stop: () => {
      entries.delete(entry)
      if (entries.size === 0 && timer !== undefined) {
        clearInterval(timer)
        timer = undefined
      }
    }
  }
}
