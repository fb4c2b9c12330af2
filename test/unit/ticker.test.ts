/**
 * The process's shared tick (src/util/ticker.ts): periodic checks that fall due together run in
 * one timer firing, so a process wakes once for all of them.
 */
import { describe, expect, it } from 'vitest'
import { everyTick, TICK_MS } from '../../src/util/ticker.js'
import { waitFor } from '../helpers/wait.js'

describe('shared tick', () => {
  it('runs checks of one period in the same firing, and checks of a multiple period on every other one', async () => {
    const fast: number[][] = [[], [], []]
    const slow: number[] = []
    const ticking = [
      ...fast.map(calls =>
        everyTick(TICK_MS, now => {
          calls.push(now)
        })
      ),
      everyTick(2 * TICK_MS, now => {
        slow.push(now)
      })
    ]
    try {
      await waitFor(() => slow.length >= 3, { timeoutMs: 10 * TICK_MS, message: () => `slow ran ${slow.length} times` })
      // Registered at different moments, the three fast checks still run in the same firings:
      // each call carries its firing's time, and they all saw the same times.
      const shared = fast[0]?.filter(t => fast.every(calls => calls.includes(t))) ?? []
      expect(shared.length).toBeGreaterThanOrEqual(4)
      // The slow check runs on the fast checks' firings, every other one.
      for (const t of slow) expect(fast[0]).toContain(t)
      const between = (fast[0] ?? []).filter(t => t > (slow[0] as number) && t < (slow[1] as number))
      expect(between).toHaveLength(1)
    } finally {
      for (const t of ticking) t.stop()
    }
  })

  it('stops calling a stopped check and keeps calling the others', async () => {
    const calls: string[] = []
    const a = everyTick(TICK_MS, () => calls.push('a'))
    const b = everyTick(TICK_MS, () => calls.push('b'))
    const count = (name: string): number => calls.filter(c => c === name).length
    try {
      await waitFor(() => count('a') >= 2, { timeoutMs: 10 * TICK_MS, message: 'a did not run' })
      a.stop()
      const countA = count('a')
      const countB = count('b')
      await waitFor(() => count('b') >= countB + 2, { timeoutMs: 10 * TICK_MS, message: 'b stopped too' })
      expect(count('a')).toBe(countA)
    } finally {
      a.stop()
      b.stop()
    }
  })
})
