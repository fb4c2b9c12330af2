/**
 * What one agent keeps of each council it follows, how that is saved across restarts, and the
 * pure rules over it (majority, ended states, roster comparison). `Councils` runs the protocol.
 */
import * as C from './constants.js'
import type { CommitMessage, Descriptor, ProposeMessage, SavedCouncil, Seat } from './messages.js'
import { assignRoster, type Claim } from './roster.js'

export type CouncilState = 'forming' | 'active' | 'degraded' | 'dissolved' | 'failed'

/** This agent's proposal in flight, as its coordinator (its acks are counted in `observed`). */
export interface Pending {
  epoch: number
  base: string[]
  digest: string
  since: number
}

export interface Council {
  d: Descriptor
  state: CouncilState
  reason?: string
  epoch: number
  roster: Seat[]
  /** Members of the committed epoch: a majority of them must acknowledge the next one. */
  members: string[]
  coordinator?: string
  activatedAt?: number
  endedAt?: number
  claims: Map<string, Claim>
  /** Agents that resigned, with the session they resigned in: a claim from a later one is a return. */
  resigned: Map<string, number>
  /** Highest epoch this agent acknowledged or saw committed: it acknowledges nothing lower. */
  promised: number
  pending?: Pending
  lastCommit?: CommitMessage
  claimed: boolean
  lastClaimAt: number
  /** When a proposal last counted this agent among the members: its claim reached the coordinator. */
  claimHeardAt: number
  /** When the first proposal may be made (singletons: after the contender settled in). */
  formationAt?: number
  lastAnnounceAt: number
  /** Highest epoch this agent proposed: a new proposal always goes higher. */
  proposed: number
  lastCommitAt: number
  /** When this agent last saw the committed epoch announced by anyone (or announced it). */
  lastHeardCommitAt: number
  /**
   * Highest epoch this agent got a commit of from its committer (not only applied on acks it
   * saw): its coordinator has a majority's acks for it, so this agent's own is moot.
   */
  receivedCommit?: number
  /** Restored from the store: no proposal before then, so that the membership view fills first. */
  settleUntil?: number
  /** This agent opened it (in this run, or before a restart it was restored from). */
  openedHere?: boolean
  /** Proposals of this coordinator that timed out since the last commit (each waits longer). */
  retries: number
  /** The reconcile scheduled for the end of the claim gathering (every wanted role claimed early). */
  gatherTimer?: ReturnType<typeof setTimeout>
  /** This agent ended the council itself (a dissolution, a failed formation): it answers stale messages about it. */
  endedHere?: boolean
  /** Proposals above the committed epoch (this agent's own too), by digest, with the acks seen for each. */
  observed: Map<string, Observed>
  /** Acks that arrived before their proposal (gossip takes other paths), by digest: checked once it comes. */
  earlyAcks: Map<string, Map<string, string>>
}

/**
 * A proposal seen on the channel, with the acks seen for it. Members send their acks to the
 * coordinator directly (`ACK_PROTOCOL`), which commits once a majority of `base` signed; an ack
 * that could not go directly is gossiped, and an agent that sees a majority of gossiped acks
 * holds the same proof the commit will carry and applies it at once.
 */
export interface Observed {
  from: string
  proposal: ProposeMessage
  acks: Map<string, string>
  /** The peer this agent got the proposal from: acks for an unconnected coordinator go back that way. */
  via?: string
  /** Signers whose acks this agent relayed towards the coordinator (each is passed on once); made at the first. */
  relayed?: Set<string>
}

/** A council first heard of: forming, nothing committed. */
export function blankCouncil(d: Descriptor): Council {
  return {
    d,
    state: 'forming',
    epoch: 0,
    roster: [],
    members: [],
    claims: new Map(),
    resigned: new Map(),
    promised: 0,
    claimed: false,
    lastClaimAt: 0,
    claimHeardAt: 0,
    lastAnnounceAt: 0,
    proposed: 0,
    lastCommitAt: 0,
    lastHeardCommitAt: 0,
    retries: 0,
    observed: new Map(),
    earlyAcks: new Map()
  }
}

/** What is kept of `c` across restarts: the promise that fences lower epochs, the last commit, the claims. */
export function savedCouncil(c: Council): SavedCouncil {
  return {
    d: c.d,
    promised: c.promised,
    proposed: c.proposed,
    ...(c.lastCommit !== undefined ? { lastCommit: c.lastCommit } : {}),
    ...(c.coordinator !== undefined ? { coordinator: c.coordinator } : {}),
    ...(c.activatedAt !== undefined ? { activatedAt: c.activatedAt } : {}),
    claims: [...c.claims.values()],
    ...(isEnded(c.state)
      ? {
          ended: {
            state: c.state as 'dissolved' | 'failed',
            reason: c.reason ?? '',
            at: c.endedAt ?? Date.now(),
            ...(c.endedHere === true ? { here: true } : {})
          }
        }
      : {})
  }
}

/** A council as saved before a restart of agent `self`, restored at `now`: it proposes nothing while the view fills. */
export function restoredCouncil(s: SavedCouncil, self: string, now: number): Council {
  const c = blankCouncil(s.d)
  c.promised = s.promised
  c.proposed = s.proposed
  for (const claim of s.claims) c.claims.set(claim.peerId, claim)
  if (s.activatedAt !== undefined) c.activatedAt = s.activatedAt
  if (s.coordinator !== undefined) c.coordinator = s.coordinator
  if (s.lastCommit !== undefined) {
    c.epoch = s.lastCommit.epoch
    c.roster = s.lastCommit.roster
    c.members = s.lastCommit.members
    c.lastCommit = s.lastCommit
    c.state = 'active'
  }
  if (s.ended !== undefined) {
    c.state = s.ended.state
    c.reason = s.ended.reason
    c.endedAt = s.ended.at
    // Still the one to answer members that missed the end: nobody else does.
    if (s.ended.here === true) c.endedHere = true
  }
  c.settleUntil = now + C.RESTORE_SETTLE_MS
  c.openedHere = s.d.opener === self
  // Announced (or awaited) as after a fresh commit: peers may have moved on while it was down.
  c.lastCommitAt = now
  c.lastHeardCommitAt = now
  return c
}

/**
 * How long after an announcement of `c`'s committed epoch, made or heard at `at`, the next one is
 * due: `base` while the commit is young, then half its age (announcements thin out geometrically:
 * 5, 10, 15, 22, 34, 51 … s after it), at most `max`. A council still forming is announced every
 * `base`.
 */
export function announceInterval(c: Council, at: number, base = C.REANNOUNCE_MS, max = C.MAX_REANNOUNCE_MS): number {
  if (c.lastCommit === undefined) return base
  return Math.min(max, Math.max(base, (at - c.lastCommitAt) / 2))
}

/** The roster `claims` give `c`, its current holders keeping their seats. */
export function rosterFor(c: Council, claims: Claim[]): ReturnType<typeof assignRoster> {
  return assignRoster({
    councilId: c.d.id,
    coreRoles: c.d.coreRoles,
    optionalRoles: c.d.optionalRoles,
    claims,
    maxRolesPerAgent: c.d.maxRolesPerAgent,
    current: c.roster
  })
}

/** Keep an ack whose proposal has not arrived yet, within a few proposals' worth. */
export function keepEarlyAck(early: Map<string, Map<string, string>>, from: string, digest: string, sig: string): void {
  const acks = early.get(digest) ?? new Map<string, string>()
  if (early.size >= C.MAX_OBSERVED_PROPOSALS || acks.size >= C.MAX_EARLY_ACKS) return
  acks.set(from, sig)
  early.set(digest, acks)
}

/** A strict majority of `base`: what commits an epoch (the rule is the council core's). */
export { quorum } from './core/index.js'

export function isEnded(state: CouncilState): boolean {
  return state === 'dissolved' || state === 'failed'
}

/** Roster and member-set comparison (the rules are the council core's). */
export { sameRoster, sameSet } from './core/index.js'
