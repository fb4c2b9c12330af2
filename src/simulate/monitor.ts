/**
 * The membership properties, checked while a simulated run goes and after it:
 * - accuracy: no agent that runs, is not paused, and is reachable is declared dead by an agent
 *   that reaches it (faults make both ends "disturbed" for a window that covers any suspicion
 *   they may have started);
 * - detection: an agent that crashed for good is declared dead by every running agent within a bound;
 * - convergence: after the last fault, every running agent sees every other one alive, and none
 *   of the crashed ones, within a bound.
 */
import type { CoreChange } from '../membership/core/index.js'
import type { World } from './world.js'

export interface Violation {
  property: 'accuracy' | 'detection' | 'convergence' | 'agreement' | 'uniqueness' | 'fencing' | 'majority' | 'liveness'
  trial: number
  seed: number
  detail: string
}

export class MembershipMonitor {
  readonly violations: Violation[] = []
  /** Per agent: until when a fault touching it excuses a death declared by or about it. */
  private readonly disturbed: number[]
  private everywhereUntil = 0
  /** Crash times of agents that are down. */
  readonly crashedAt = new Map<number, number>()
  /** Per crashed agent: the observers that declared it dead, and when the last one did. */
  private readonly detectedBy = new Map<number, Set<number>>()
  /** Times from a crash until every running agent had declared it dead. */
  readonly detections: number[] = []

  constructor(
    private readonly world: World,
    private readonly trial: number,
    private readonly seed: number,
    /** How long a fault excuses deaths after it ends: the longest suspicion and then some. */
    private readonly windowMs: number
  ) {
    this.disturbed = world.agents.map(() => 0)
  }

  /** A fault touches agent `i` until `until`. */
  disturb(i: number, until: number): void {
    this.disturbed[i] = Math.max(this.disturbed[i] ?? 0, until + this.windowMs)
  }

  /** A fault touches every agent (a partition, a lossy spell) until `until`. */
  disturbAll(until: number): void {
    this.everywhereUntil = Math.max(this.everywhereUntil, until + this.windowMs)
  }

  crashed(i: number, now: number): void {
    this.crashedAt.set(i, now)
    this.detectedBy.set(i, new Set())
    this.disturb(i, Infinity)
  }

  restarted(i: number, now: number): void {
    this.crashedAt.delete(i)
    this.detectedBy.delete(i)
    this.disturbed[i] = now + this.windowMs
  }

  readonly change = (observer: number, change: CoreChange, now: number): void => {
    if (change.state !== 'dead') return
    const peer = this.world.indexOf(change.peer)
    if (peer === undefined) return
    const slot = this.world.slot(peer)
    const excused =
      now < this.everywhereUntil || now < (this.disturbed[peer] ?? 0) || now < (this.disturbed[observer] ?? 0)
    if (slot.up && slot.pausedUntil <= now && !excused) {
      this.violate(
        'accuracy',
        `agent ${observer} declared agent ${peer} dead at ${now.toFixed(0)} ms while it ran and both reached each other`
      )
    }
    const seen = this.detectedBy.get(peer)
    const at = this.crashedAt.get(peer)
    if (seen === undefined || at === undefined) return
    seen.add(observer)
    if (this.runningExcept(peer).every(o => seen.has(o))) {
      this.detections.push(now - at)
      this.detectedBy.delete(peer)
    }
  }

  /** Every crashed agent down for longer than `boundMs` is dead in every running agent's view. */
  checkDetection(boundMs: number): void {
    for (const [peer, at] of this.crashedAt) {
      if (this.world.now - at < boundMs) continue
      const id = this.world.slot(peer).id
      const holdouts = this.runningExcept(peer).filter(o => {
        const s = this.world.slot(o).core?.stateOf(id)
        return s === 'alive' || s === 'suspect'
      })
      if (holdouts.length > 0) {
        this.violate(
          'detection',
          `agent ${peer} crashed at ${at.toFixed(0)} ms and is still live at ${holdouts.length} agents (${holdouts.slice(0, 5).join(', ')}) ${(this.world.now - at).toFixed(0)} ms later`
        )
      }
    }
  }

  violate(property: Violation['property'], detail: string): void {
    this.violations.push({ property, trial: this.trial, seed: this.seed, detail })
  }

  private runningExcept(peer: number): number[] {
    const out: number[] = []
    for (const s of this.world.agents) if (s.up && s.index !== peer) out.push(s.index)
    return out
  }
}

/**
 * Whether every running agent sees every other running agent alive and every crashed one down or
 * forgotten. Cheap first (counts), exact after.
 */
export function converged(world: World): boolean {
  const up = world.agents.filter(s => s.up)
  for (const s of up) if (s.core === undefined || s.core.liveOthers().length !== up.length - 1) return false
  for (const s of up) {
    for (const o of up) if (o !== s && s.core?.stateOf(o.id) !== 'alive') return false
  }
  return true
}

/** What is missing from convergence, for a violation's detail. */
export function divergence(world: World): string {
  const up = world.agents.filter(s => s.up)
  const lines: string[] = []
  for (const s of up) {
    const wrong = up
      .filter(o => o !== s && s.core?.stateOf(o.id) !== 'alive')
      .map(o => `${o.index}:${s.core?.stateOf(o.id) ?? 'unknown'}`)
    const extra = (s.core?.liveOthers().length ?? 0) - (up.length - 1 - wrong.length)
    if (wrong.length > 0 || extra > 0) {
      lines.push(
        `agent ${s.index} sees ${wrong.slice(0, 6).join(' ')}${extra > 0 ? ` and ${extra} down agents live` : ''}`
      )
    }
    if (lines.length >= 4) break
  }
  return lines.join('; ')
}
