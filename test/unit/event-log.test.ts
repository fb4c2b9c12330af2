import { describe, expect, it } from 'vitest'
import { EventLog } from '../../src/events/index.js'

const seq = (id: string): number => Number(id.slice(id.lastIndexOf('-') + 1))

describe('EventLog', () => {
  it('resumes right after an id of this run, and replays everything for an unknown one', () => {
    const log = new EventLog()
    const ids = Array.from({ length: 5 }, (_, i) => log.emit('member', { i }).id)
    expect(log.after(ids[1]).events.map(e => e.data.i)).toEqual([2, 3, 4])
    expect(log.after(ids[4]).events).toEqual([])
    expect(log.after('otherrun-2')).toEqual({ events: log.after().events, gap: false })
    expect(log.after('garbage').events).toHaveLength(5)
    expect(log.after().events.map(e => seq(e.id))).toEqual([1, 2, 3, 4, 5])
  })

  it('keeps at least `capacity` events and says when a resume point was dropped', () => {
    const log = new EventLog({ capacity: 4 })
    const ids = Array.from({ length: 20 }, (_, i) => log.emit('task', { i }).id)
    const kept = log.after().events
    expect(kept.length).toBeGreaterThanOrEqual(4)
    expect(kept.length).toBeLessThanOrEqual(5)
    expect(kept.at(-1)?.data.i).toBe(19)
    // Consecutive: nothing missing inside what is kept.
    for (let i = 1; i < kept.length; i++) expect(seq(kept[i]?.id as string)).toBe(seq(kept[i - 1]?.id as string) + 1)
    const stale = log.after(ids[2])
    expect(stale.gap).toBe(true)
    expect(stale.events).toEqual(kept)
    const fresh = log.after(ids[17])
    expect(fresh).toEqual({ events: kept.filter(e => seq(e.id) > 18), gap: false })
  })

  it('tells subscribers of every event, in order, until they unsubscribe', () => {
    const log = new EventLog()
    const seen: number[] = []
    const off = log.subscribe(e => {
      seen.push(e.data.i as number)
    })
    log.emit('council', { i: 1 })
    log.emit('council', { i: 2 })
    off()
    log.emit('council', { i: 3 })
    expect(seen).toEqual([1, 2])
  })
})
