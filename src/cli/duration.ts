import { UsageError } from './errors.js'

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `30d`, `12h`, `15m`, `90s`, `500ms` (or plain milliseconds) → ms; an Error naming the flag otherwise. */
export function parseDuration(flag: string, raw: string): number | Error {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(raw.trim())
  if (match === null) return new UsageError(`${flag}: "${raw}" is not a duration (e.g. 30d, 12h, 15m, 90s)`)
  const ms = Number(match[1]) * (UNITS[match[2] ?? 'ms'] as number)
  if (ms <= 0 || !Number.isSafeInteger(ms)) return new UsageError(`${flag}: "${raw}" must be a positive duration`)
  return ms
}
