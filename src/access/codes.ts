import { randomBytes } from 'node:crypto'
import { MAX_PENDING_CODES } from './constants.js'

/**
 * One-time codes (dashboard login links, event-stream tickets): random, each redeemable once
 * before it expires, at most `MAX_PENDING_CODES` pending (the oldest is forgotten first).
 */
export class OneTimeCodes<T> {
  private readonly pending = new Map<string, { value: T; expiresAt: number }>()

  mint(value: T, ttlMs: number, now: number): string {
    const code = randomBytes(24).toString('base64url')
    if (this.pending.size >= MAX_PENDING_CODES) this.pending.delete(this.pending.keys().next().value as string)
    this.pending.set(code, { value, expiresAt: now + ttlMs })
    return code
  }

  /** The value behind `code`, once; undefined when unknown, used or expired. */
  redeem(code: string, now: number): T | undefined {
    const entry = this.pending.get(code)
    if (entry === undefined) return undefined
    this.pending.delete(code)
    return entry.expiresAt > now ? entry.value : undefined
  }
}
