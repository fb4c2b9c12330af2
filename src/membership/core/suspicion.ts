/**
 * Lifeguard's suspicion timeout: long while only one member suspects, shrinking (logarithmically)
 * as independent members confirm, down to `min` once `expected` have. A member cut off from one
 * prober gets time to refute; a member that really crashed is declared dead sooner, because
 * everyone probing it fails.
 */
export interface Suspicion {
  /** When the suspicion began (local time). */
  start: number
  /** Members that suspected independently, the first one included. */
  from: Set<string>
  min: number
  max: number
  /** Confirmations that bring the timeout down to `min`. */
  expected: number
}

/** Least and longest suspicion for `n` members (memberlist's `suspicionTimeout`). */
export function suspicionBounds(
  suspicionMult: number,
  maxMult: number,
  n: number,
  probeIntervalMs: number
): { min: number; max: number } {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)))
  const min = Math.floor(suspicionMult * nodeScale * probeIntervalMs)
  return { min, max: maxMult * min }
}

export function newSuspicion(
  from: string,
  start: number,
  bounds: { min: number; max: number },
  expected: number
): Suspicion {
  return { start, from: new Set([from]), min: bounds.min, max: bounds.max, expected }
}

/** Add a confirmation; true when it was a new one (news worth passing on). */
export function confirm(s: Suspicion, from: string): boolean {
  if (s.from.has(from)) return false
  s.from.add(from)
  return true
}

/** When the suspect is dead, unless it refutes first. */
export function suspicionDeadline(s: Suspicion): number {
  const confirmations = s.from.size - 1
  if (s.expected < 1) return s.start + s.min
  const frac = Math.log(Math.min(confirmations, s.expected) + 1) / Math.log(s.expected + 1)
  const timeout = Math.max(s.min, Math.floor(s.max - frac * (s.max - s.min)))
  return s.start + timeout
}
