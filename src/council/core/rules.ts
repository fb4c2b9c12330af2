/**
 * The safety rules of council agreement, as pure functions. Every council decision that must hold
 * across partitions, crashes and restarts is one of these:
 * - an agent acknowledges a proposal only if it is in the proposal's base, the epoch is above
 *   every epoch it promised, and, once it applied a commit, the base is that commit's members (the
 *   proposal builds on the epoch the agent knows); it keeps that promise durably before the ack
 *   leaves;
 * - a proposal commits on the acknowledgements of a strict majority of its base;
 * - a commit is applied only above the epoch applied, and raises the promise to it.
 * Two rosters can then never commit under one epoch (any two majorities of one base share a
 * member, who acknowledged only one of them), and a side of a partition without a majority of
 * the base commits nothing.
 */
import { createHash } from 'node:crypto'
import type { Commit, Proposal, Seat } from './types.js'

/** Deliberate violations of the rules, for tests of the simulator's monitor only. */
export interface CouncilBugs {
  /** Acknowledge a proposal of an epoch already promised (so two of one epoch). */
  doubleAck?: boolean
  /** Commit on acknowledgements of half the base, not a strict majority. */
  smallQuorum?: boolean
  /** Forget the persisted promise on restart (keep only the last commit's epoch). */
  forgetPromise?: boolean
  /** Acknowledge a proposal on any base that includes this agent, not only its last commit's members. */
  staleBase?: boolean
}

/** A strict majority of `base`: what commits an epoch. */
export function quorum(acks: number, base: readonly string[], bugs?: CouncilBugs): boolean {
  if (bugs?.smallQuorum === true) return acks * 2 >= base.length && acks > 0
  return acks * 2 > base.length
}

/**
 * Whether `self`, having promised `promised`, may acknowledge proposal `p`. `committed`: the
 * members of the last commit this agent applied (undefined before its first), which `p` must be
 * based on.
 */
export function mayAck(
  self: string,
  promised: number,
  p: Pick<Proposal, 'epoch' | 'base'>,
  committed: readonly string[] | undefined,
  bugs?: CouncilBugs
): boolean {
  if (!p.base.includes(self)) return false
  if (committed !== undefined && bugs?.staleBase !== true && !sameSet(p.base, committed)) return false
  return bugs?.doubleAck === true ? p.epoch >= promised : p.epoch > promised
}

/** Whether `c` proves a majority of its base (each ack a distinct member of the base). */
export function provesMajority(c: Pick<Commit, 'acks' | 'base'>, bugs?: CouncilBugs): boolean {
  const base = new Set(c.base)
  const signers = new Set(c.acks.filter(a => base.has(a)))
  return signers.size === c.acks.length && quorum(signers.size, c.base, bugs)
}

/** The promise restored after a restart from what was persisted. */
export function restoredPromise(p: { promised: number; lastCommit?: { epoch: number } }, bugs?: CouncilBugs): number {
  return bugs?.forgetPromise === true ? (p.lastCommit?.epoch ?? 0) : p.promised
}

/** The epoch of a new proposal: above every epoch promised, applied or proposed here. */
export function nextEpoch(promised: number, epoch: number, proposed: number): number {
  return Math.max(promised, epoch, proposed) + 1
}

/** What an acknowledgement covers: the council and the whole proposal. */
export function digestOf(councilId: string, p: Proposal): string {
  const parts = [councilId, p.epoch, p.roster, p.members, p.base, p.claims, { coordinator: p.coordinator }]
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64')
}

/** Whether two rosters seat the same peers in the same roles, in order. */
export function sameRoster(a: Seat[], b: Seat[]): boolean {
  return a.length === b.length && a.every((s, i) => s.role === b[i]?.role && s.peerId === b[i]?.peerId)
}

/** Whether two lists hold the same members. */
export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  // Member sets run to thousands: a Set keeps the comparison linear.
  const inB = new Set(b)
  return a.every(x => inB.has(x))
}
