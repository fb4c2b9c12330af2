/**
 * The event-loop stall watch behind "a probe that timed out while our own loop stalled is
 * inconclusive" (src/util/loop-stalls.ts).
 */
import { performance } from 'node:perf_hooks'
import { describe, expect, it } from 'vitest'
import { watchLoopStalls } from '../../src/util/loop-stalls.js'
import { waitFor } from '../helpers/wait.js'

function blockLoop(ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) {
    /* a handler hogging the loop */
  }
}

describe('event-loop stall watch', () => {
  it('reports a stall that ended after the given time, and not one that ended before it', async () => {
    const stalls = watchLoopStalls()
    try {
      // Let the sampler run a few times first.
      const warm = performance.now()
      await waitFor(() => performance.now() - warm > 100, { timeoutMs: 2_000, message: 'clock' })
      const beforeStall = performance.now()
      blockLoop(300)
      // The sampler sees the stall on its next tick.
      await waitFor(() => stalls.longestSince(beforeStall) >= 250, {
        timeoutMs: 2_000,
        message: () => `longest stall ${stalls.longestSince(beforeStall)} ms`
      })
      // Once the sampler has ticked again, the stall is over: a probe started now is not excused by it.
      const noticed = performance.now()
      await waitFor(() => performance.now() - noticed > 100, { timeoutMs: 2_000, message: 'clock' })
      const afterStall = performance.now()
      await waitFor(() => performance.now() - afterStall > 100, { timeoutMs: 2_000, message: 'clock' })
      expect(stalls.longestSince(afterStall)).toBeLessThan(250)
      expect(stalls.longestSince(beforeStall)).toBeGreaterThanOrEqual(250)
    } finally {
      stalls.release()
    }
  })
})
