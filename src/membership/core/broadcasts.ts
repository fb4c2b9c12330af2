import type { Update } from './types.js'

/** Most entries queued; past it, the oldest go first. */
const MAX_QUEUED = 4_096

interface Entry {
  update: Update
  transmits: number
}

/**
 * memberlist's transmit-limited queue: one entry per member (news about a member replaces older
 * news about it), each sent `limit` times, the least-sent first. What leaves per message is
 * bounded, so that a burst of changes costs more rounds, not bigger messages. Entries sit in
 * buckets by transmissions, so that taking a few costs a few, however long the queue.
 */
export class Broadcasts {
  /** Every entry, in order of insertion. */
  private readonly entries = new Map<string, Entry>()
  /** `buckets[t]`: the entries sent `t` times, in order of insertion. */
  private readonly buckets: Array<Map<string, Entry>> = []

  get size(): number {
    return this.entries.size
  }

  /** Queue `update`, replacing queued news about the same member. */
  push(update: Update): void {
    this.remove(update.peer)
    const e: Entry = { update, transmits: 0 }
    this.entries.set(update.peer, e)
    this.bucket(0).set(update.peer, e)
    if (this.entries.size > MAX_QUEUED) {
      const oldest = this.entries.keys().next().value
      if (oldest !== undefined) this.remove(oldest)
    }
  }

  /**
   * Up to `max` updates for one message, each `relevant` to its receiver (and as it may see it),
   * the least-sent first. Each one taken counts as a transmission; those sent `limit` times leave.
   */
  take(max: number, limit: number, relevant: (u: Update) => Update | undefined): Update[] {
    if (this.entries.size === 0 || max <= 0) return []
    const out: Update[] = []
    const taken: Entry[] = []
    for (let t = 0; t < this.buckets.length && out.length < max; t++) {
      const bucket = this.buckets[t] as Map<string, Entry>
      for (const e of bucket.values()) {
        if (out.length >= max) break
        if (e.transmits >= limit) {
          this.remove(e.update.peer)
          continue
        }
        const u = relevant(e.update)
        if (u === undefined) continue
        out.push(u)
        taken.push(e)
      }
    }
    for (const e of taken) {
      const peer = e.update.peer
      this.buckets[e.transmits]?.delete(peer)
      e.transmits++
      if (e.transmits >= limit) this.entries.delete(peer)
      else this.bucket(e.transmits).set(peer, e)
    }
    return out
  }

  private bucket(t: number): Map<string, Entry> {
    while (this.buckets.length <= t) this.buckets.push(new Map())
    return this.buckets[t] as Map<string, Entry>
  }

  private remove(peer: string): void {
    const e = this.entries.get(peer)
    if (e === undefined) return
    this.entries.delete(peer)
    this.buckets[e.transmits]?.delete(peer)
  }
}
