import { REPLAY_SENDERS_MAX, REPLAY_WINDOW } from './constants.js'

interface Window {
  session: number
  highest: number
  /** Sequence numbers accepted within `REPLAY_WINDOW` of `highest`. */
  seen: Set<number>
}

/**
 * Anti-replay per sender and channel, like IPsec's sliding window: a sequence number is accepted
 * once, if it is newer than the highest seen or within the window behind it (gossip delivers an
 * honest sender's messages out of order). A new session (the sender restarted) resets the window;
 * an older session is a replay.
 */
export class ReplayGuard {
  private readonly windows = new Map<string, Window>()
  private readonly size: number
  private readonly maxSenders: number

  constructor(size = REPLAY_WINDOW, maxSenders = REPLAY_SENDERS_MAX) {
    this.size = size
    this.maxSenders = maxSenders
  }

  /** Accept (and remember) `seq`, or return false for a replay. */
  accept(key: string, session: number, seq: number): boolean {
    let w = this.windows.get(key)
    if (w !== undefined) {
      // Re-insert to keep the map in least-recently-used order.
      this.windows.delete(key)
      this.windows.set(key, w)
    }
    if (w === undefined || session > w.session) {
      if (w === undefined && this.windows.size >= this.maxSenders) {
        const oldest = this.windows.keys().next().value
        if (oldest !== undefined) this.windows.delete(oldest)
      }
      w = { session, highest: seq, seen: new Set([seq]) }
      this.windows.set(key, w)
      return true
    }
    if (session < w.session) return false
    if (seq > w.highest) {
      w.highest = seq
      w.seen.add(seq)
      if (w.seen.size > this.size) {
        for (const s of w.seen) if (s <= w.highest - this.size) w.seen.delete(s)
      }
      return true
    }
    if (seq <= w.highest - this.size || w.seen.has(seq)) return false
    w.seen.add(seq)
    return true
  }
}
