/**
 * One council at one agent, as a state machine without IO: `step(input, now)` returns the effects
 * its shell carries out, and `wakeAt` says when it wants the next tick. The coordinator (the
 * opener, then whoever the last commit names, then the lowest-ranked live member) proposes a
 * roster under a new epoch; members acknowledge it under the rules in `rules.ts`; a majority of
 * the base commits it. The same code runs in the deterministic simulator (`conclave simulate`).
 */
import * as C from '../constants.js'
import { assignRoster, rank } from '../roster.js'
import { DEFAULT_COUNCIL_CORE_OPTIONS, type CouncilCoreInit, type CouncilCoreOptions } from './options.js'
import {
  digestOf,
  mayAck,
  nextEpoch,
  provesMajority,
  quorum,
  restoredPromise,
  sameRoster,
  sameSet,
  type CouncilBugs
} from './rules.js'
import type { Claim, Commit, Descriptor, Effect, Input, Persisted, Proposal, Seat, Wire } from './types.js'

export type CoreCouncilState = 'forming' | 'active' | 'degraded' | 'failed'

/** Proposals (and early acks) kept at once: a few rounds' worth. */
const MAX_OBSERVED = 16
/** Ranks of peers kept per council. */
const MAX_RANKS = 10_000

interface Observed {
  proposal: Proposal
  acks: Set<string>
}

export class CouncilCore {
  readonly d: Descriptor
  state: CoreCouncilState = 'forming'
  reason?: string
  epoch = 0
  roster: Seat[] = []
  members: string[] = []
  coordinator?: string
  promised = 0
  proposed = 0
  lastCommit?: Commit
  wakeAt = Infinity
  private readonly self: string
  private readonly o: CouncilCoreOptions
  private readonly claims = new Map<string, Claim>()
  private readonly resigned = new Set<string>()
  private readonly observed = new Map<string, Observed>()
  private readonly early = new Map<string, Set<string>>()
  private readonly ranks = new Map<string, string>()
  private pending?: { epoch: number; base: string[]; digest: string; since: number }
  private retries = 0
  private lastCommitAt = 0
  private lastAnnounceAt = 0
  /** When the committed epoch was last announced by anyone, or applied here. */
  private lastHeardAt = 0
  /** Who coordinated in this agent's eyes at the last look. */
  private lastCoordinator?: string
  private lastClaimAt = -Infinity
  private claimHeardAt = -Infinity
  private settleUntil = 0
  private leaving = false
  private started = false
  private out: Effect[] = []

  constructor(
    private readonly init: CouncilCoreInit,
    options: Partial<CouncilCoreOptions> = {},
    private readonly bugs: CouncilBugs = {}
  ) {
    this.d = init.descriptor
    this.self = init.self
    this.o = { ...DEFAULT_COUNCIL_CORE_OPTIONS, ...options }
    const p = init.persisted
    if (p !== undefined) {
      this.promised = restoredPromise(p, bugs)
      this.proposed = p.proposed
      if (p.lastCommit !== undefined) this.adopt(p.lastCommit)
    }
  }

  /** The formation failed (a commit arriving later still revives it). */
  get ended(): boolean {
    return this.state === 'failed'
  }

  /** Roles this agent claims here: those it can hold that the council wants. */
  get myRoles(): string[] {
    const wanted = [...this.d.coreRoles, ...this.d.optionalRoles]
    return this.init.roles.filter(r => wanted.includes(r))
  }

  step(input: Input, now: number): Effect[] {
    this.out = []
    if (this.ended) {
      // Failed, but still an acceptor: a majority may have formed it elsewhere, and its commit wins.
      if (input.type === 'message') this.receive(input.from, input.message, now)
      this.wakeAt = this.ended ? Infinity : now + this.o.tickMs
      return this.out
    }
    switch (input.type) {
      case 'start':
        this.started = true
        if (this.init.persisted?.lastCommit !== undefined) this.settleUntil = now + this.o.restoreSettleMs
        this.claim(now)
        this.reconcile(now)
        this.wakeAt = this.ended ? Infinity : now + this.o.tickMs
        break
      case 'tick':
        this.tick(now)
        this.wakeAt = this.ended ? Infinity : now + this.o.tickMs
        break
      case 'member':
        this.refreshState()
        this.reconcile(now)
        break
      case 'resign':
        this.leaving = true
        this.emit({ type: 'publish', message: { type: 'resign' } })
        break
      case 'message':
        this.receive(input.from, input.message, now)
    }
    return this.out
  }

  /** Who coordinates now, alike in every member's eyes when their views agree. */
  coordinatorOf(): string | undefined {
    const gone = (p: string): boolean => this.resigned.has(p) || !this.alive(p)
    const preferred = this.epoch === 0 ? this.d.opener : this.coordinator
    if (preferred !== undefined && !gone(preferred)) return preferred
    const pool = this.epoch === 0 ? this.claims.keys() : this.members
    let best: string | undefined
    let bestRank = ''
    for (const p of pool) {
      if (gone(p)) continue
      const r = this.rankOf(p)
      if (best === undefined || r < bestRank) {
        best = p
        bestRank = r
      }
    }
    return best
  }

  /** `rank` of a peer in this council, kept: every tick of every agent may look the members up. */
  private rankOf(peer: string): string {
    let r = this.ranks.get(peer)
    if (r === undefined) {
      if (this.ranks.size >= MAX_RANKS) this.ranks.clear()
      r = rank(this.d.id, peer)
      this.ranks.set(peer, r)
    }
    return r
  }

  /** The members a proposal must be based on for this agent to acknowledge it: its commit's. */
  private config(): readonly string[] | undefined {
    return this.epoch > 0 ? this.members : undefined
  }

  private alive(peer: string): boolean {
    return peer === this.self ? this.started && !this.leaving : this.init.membership.alive(peer)
  }

  private emit(effect: Effect): void {
    this.out.push(effect)
  }

  private persisted(): Persisted {
    return {
      promised: this.promised,
      proposed: this.proposed,
      ...(this.lastCommit !== undefined ? { lastCommit: this.lastCommit } : {})
    }
  }

  private tick(now: number): void {
    // Claims repeat until a commit counts this agent: one lost must not leave a seat empty for good.
    if (
      !this.members.includes(this.self) &&
      now - this.lastClaimAt > this.o.claimRepeatMs &&
      now - this.claimHeardAt > this.o.proposalTimeoutMs
    ) {
      this.claim(now)
    }
    this.announce(now)
    this.refreshState()
    this.reconcile(now)
  }

  /**
   * Anti-entropy for commits, at a cost that does not grow with time:
   * - the coordinator announces the last commit again, ever further apart;
   * - an agent whose coordinator changed hands the new one its last commit (the new one may have
   *   missed it, and would otherwise coordinate from an older epoch than everyone else's);
   * - an agent that heard nothing of its epoch for three intervals announces it: whoever holds a
   *   newer commit answers with it.
   */
  private announce(now: number): void {
    const commit = this.lastCommit
    if (commit === undefined || this.leaving) return
    const coordinator = this.coordinatorOf()
    const interval = Math.min(this.o.maxAnnounceMs, Math.max(this.o.announceMs, (now - this.lastCommitAt) / 2))
    if (coordinator !== this.lastCoordinator) {
      this.lastCoordinator = coordinator
      if (coordinator !== undefined && coordinator !== this.self && coordinator !== commit.coordinator) {
        this.emit({ type: 'send', to: coordinator, message: { type: 'commit', commit } })
      }
    }
    if (coordinator === this.self) {
      if (now - Math.max(this.lastAnnounceAt, this.lastCommitAt) < interval) return
    } else if (now - this.lastHeardAt < 3 * interval) return
    this.lastAnnounceAt = now
    this.lastHeardAt = now
    this.emit({ type: 'publish', message: { type: 'commit', commit } })
  }

  private claim(now: number): void {
    const roles = this.myRoles
    if (this.leaving || roles.length === 0) return
    const claim: Claim = { peerId: this.self, name: this.init.name, roles, load: 0 }
    this.claims.set(this.self, claim)
    this.lastClaimAt = now
    this.emit({ type: 'publish', message: { type: 'claim', roles, load: 0, name: this.init.name } })
  }

  private eligible(): Claim[] {
    return [...this.claims.values()].filter(c => this.alive(c.peerId) && !this.resigned.has(c.peerId))
  }

  /** If this agent coordinates and the roster or member set is not what it should be, propose. */
  private reconcile(now: number): void {
    if (!this.started || this.leaving || this.coordinatorOf() !== this.self || now < this.settleUntil) return
    if (this.pending !== undefined) {
      const wait = this.o.proposalTimeoutMs * 2 ** Math.min(this.retries, C.MAX_PROPOSAL_BACKOFF_DOUBLINGS)
      if (now - this.pending.since < wait) return
      this.pending = undefined
      this.retries++
    }
    const claims = this.eligible().sort((a, b) => (a.peerId < b.peerId ? -1 : 1))
    const { roster, unfilled } = assignRoster({
      councilId: this.d.id,
      coreRoles: this.d.coreRoles,
      optionalRoles: this.d.optionalRoles,
      claims,
      maxRolesPerAgent: this.d.maxRolesPerAgent,
      current: this.roster
    })
    const members = claims.map(c => c.peerId)
    if (this.epoch === 0) {
      const windowEnd = this.d.createdAt + this.d.claimWindowMs
      const complete = unfilled.length === 0 && now >= this.d.createdAt + this.o.gatherMs
      if (now < windowEnd && !complete) return
      const missing = unfilled.filter(r => this.d.coreRoles.includes(r))
      if (missing.length > 0) {
        // Only the opener fails a formation; a successor waits for claimants.
        if (this.d.opener !== this.self) return
        this.fail(`no claimant for core role ${missing.join(', ')}`)
        this.lastAnnounceAt = now
        this.emit({ type: 'publish', message: { type: 'end', reason: this.reason ?? '' } })
        return
      }
    } else if (sameRoster(roster, this.roster)) {
      if (sameSet(members, this.members)) return
      if (now - this.lastCommitAt < this.o.membersEpochMinIntervalMs) return
    }
    const base = this.epoch > 0 ? this.members : members
    const epoch = nextEpoch(this.promised, this.epoch, this.proposed)
    this.proposed = epoch
    const proposal: Proposal = { epoch, roster, members, base, claims, coordinator: this.self }
    const digest = digestOf(this.d.id, proposal)
    this.pending = { epoch, base, digest, since: now }
    this.observe(proposal, digest, now)
    if (!this.acknowledge(proposal, digest, now)) {
      this.emit({ type: 'persist', state: this.persisted(), durable: false })
    }
    this.emit({ type: 'publish', message: { type: 'propose', proposal } })
  }

  private fail(reason: string): void {
    this.state = 'failed'
    this.reason = reason
    this.wakeAt = Infinity
    this.pending = undefined
    this.emit({ type: 'failed', reason })
  }

  private receive(from: string, m: Wire, now: number): void {
    if (this.state === 'failed' && m.type !== 'propose' && m.type !== 'commit') {
      // A claimant that missed the end is told again, at most once a second.
      if (
        m.type === 'claim' &&
        this.d.opener === this.self &&
        now - this.lastAnnounceAt >= C.ANNOUNCE_MIN_INTERVAL_MS
      ) {
        this.lastAnnounceAt = now
        this.emit({ type: 'publish', message: { type: 'end', reason: this.reason ?? '' } })
      }
      return
    }
    switch (m.type) {
      case 'end':
        if (this.epoch === 0) this.fail(m.reason)
        return
      case 'claim':
        this.resigned.delete(from)
        this.claims.set(from, { peerId: from, name: m.name, roles: m.roles, load: m.load })
        this.reconcile(now)
        return
      case 'resign':
        this.resigned.add(from)
        this.refreshState()
        this.reconcile(now)
        return
      case 'nack':
        this.proposed = Math.max(this.proposed, m.promised)
        return
      case 'propose':
        this.onPropose(from, m.proposal, now)
        return
      case 'ack':
        this.countAck(from, m.epoch, m.digest, now)
        return
      case 'commit':
        this.onCommit(from, m.commit, now)
    }
  }

  private onPropose(from: string, p: Proposal, now: number): void {
    if (p.epoch <= this.epoch) return
    const digest = digestOf(this.d.id, p)
    if (p.members.includes(this.self)) this.claimHeardAt = now
    this.observe(p, digest, now)
    if (!this.acknowledge(p, digest, now) && p.base.includes(this.self) && p.epoch <= this.promised) {
      this.emit({ type: 'send', to: from, message: { type: 'nack', promised: this.promised } })
    }
  }

  /** Acknowledge `p` if the rules allow: the promise is persisted durably before the ack leaves. */
  private acknowledge(p: Proposal, digest: string, now: number): boolean {
    if (!mayAck(this.self, this.promised, p, this.config(), this.bugs)) return false
    this.promised = Math.max(this.promised, p.epoch)
    this.emit({ type: 'persist', state: this.persisted(), durable: true })
    this.emit({ type: 'acked', epoch: p.epoch, digest })
    if (p.coordinator === this.self) this.countAck(this.self, p.epoch, digest, now)
    else this.emit({ type: 'send', to: p.coordinator, message: { type: 'ack', epoch: p.epoch, digest } })
    return true
  }

  private observe(p: Proposal, digest: string, now: number): void {
    if (p.epoch <= this.epoch || this.observed.has(digest)) return
    if (this.observed.size >= MAX_OBSERVED) this.observed.delete(this.observed.keys().next().value as string)
    this.observed.set(digest, { proposal: p, acks: new Set() })
    const early = this.early.get(digest)
    this.early.delete(digest)
    for (const peer of early ?? []) this.countAck(peer, p.epoch, digest, now)
  }

  /** An ack of a proposal this agent commits: at a majority of the base, commit and publish. */
  private countAck(from: string, epoch: number, digest: string, now: number): void {
    const o = this.observed.get(digest)
    if (o === undefined) {
      if (epoch <= this.epoch) return
      const acks = this.early.get(digest) ?? new Set<string>()
      if (this.early.size >= MAX_OBSERVED && !this.early.has(digest)) return
      this.early.set(digest, acks.add(from))
      return
    }
    const p = o.proposal
    if (p.epoch !== epoch || !p.base.includes(from) || p.coordinator !== this.self || p.epoch <= this.epoch) return
    o.acks.add(from)
    if (!quorum(o.acks.size, p.base, this.bugs)) return
    const commit: Commit = { ...p, acks: [...o.acks].sort() }
    this.apply(commit, digest, now, true)
    this.lastAnnounceAt = now
    this.emit({ type: 'publish', message: { type: 'commit', commit } })
  }

  private onCommit(from: string, commit: Commit, now: number): void {
    if (commit.epoch === this.epoch) this.lastHeardAt = now
    if (commit.epoch <= this.epoch) {
      // An announcement of an older commit: its sender missed the newer one, which it gets now.
      if (commit.epoch < this.epoch && this.lastCommit !== undefined && from !== this.self) {
        this.emit({ type: 'send', to: from, message: { type: 'commit', commit: this.lastCommit } })
      }
      return
    }
    if (!provesMajority(commit, this.bugs)) return
    this.apply(commit, digestOf(this.d.id, commit), now, false)
  }

  private apply(commit: Commit, digest: string, now: number, published: boolean): void {
    const { acks, ...proposal } = commit
    this.adopt({ ...proposal, acks })
    this.lastCommitAt = now
    this.lastHeardAt = now
    this.retries = 0
    for (const [d, o] of this.observed) if (o.proposal.epoch <= commit.epoch) this.observed.delete(d)
    this.early.clear()
    if (
      this.pending !== undefined &&
      (this.pending.epoch <= commit.epoch || !sameSet(this.pending.base, commit.members))
    ) {
      this.pending = undefined
    }
    this.refreshState()
    this.emit({ type: 'persist', state: this.persisted(), durable: published })
    this.emit({ type: 'applied', commit, digest, published })
  }

  /** Take `commit` as the committed state (also from what was persisted). */
  private adopt(commit: Commit): void {
    this.epoch = commit.epoch
    this.promised = Math.max(this.promised, commit.epoch)
    this.roster = commit.roster
    this.members = commit.members
    this.coordinator = commit.coordinator
    this.lastCommit = commit
    for (const claim of commit.claims) if (!this.claims.has(claim.peerId)) this.claims.set(claim.peerId, claim)
    this.state = 'active'
  }

  /** Active when every core role is held by a live member that has not resigned; degraded otherwise. */
  private refreshState(): void {
    if (this.epoch === 0 || this.state === 'failed') return
    const lost = this.d.coreRoles.some(role => {
      const seat = this.roster.find(s => s.role === role)
      return seat === undefined || !this.alive(seat.peerId) || this.resigned.has(seat.peerId)
    })
    this.state = lost ? 'degraded' : 'active'
  }
}
