import { createHash, randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId, PrivateKey, Startable } from '@libp2p/interface'
import { fromString, toString } from 'uint8arrays'
import { silentLogger, type Logger } from '../logger/index.js'
import { decodeJson, encodeJson } from '../util/json.js'
import { OverloadError, ProtocolError } from '../util/errors.js'
import type { MemberChange, MemberState, RoleHolder } from '../membership/index.js'
import type { Tenancy, TenantChannel, TenantMessage, Verdict } from '../tenancy/index.js'
import * as C from './constants.js'
import { CouncilRequestError, UnknownCouncilError } from './errors.js'
import {
  announceInterval,
  blankCouncil,
  isEnded,
  keepEarlyAck,
  quorum,
  restoredCouncil,
  rosterFor,
  sameRoster,
  sameSet,
  savedCouncil,
  type Council,
  type CouncilState
} from './council.js'
import { CouncilStreams, type CouncilStreamsComponents, type RelayRoute } from './streams.js'
import {
  councilMessageSchema,
  openRequestSchema,
  type AckMessage,
  type CommitMessage,
  type CouncilMessage,
  type Descriptor,
  type ProposeMessage,
  type RelayedAck,
  type Seat
} from './messages.js'
import { rank, type Claim } from './roster.js'
import { mayAck, nextEpoch } from './core/index.js'
import type { CouncilStore } from './store.js'
import { everyTick, TICK_MS, type Ticking } from '../util/ticker.js'

/** A council as the API shows it. */
export interface CouncilView {
  id: string
  tenant: string
  project: string
  state: CouncilState
  epoch: number
  coordinator: string | null
  roster: Seat[]
  /** Members of the committed epoch (holders and standbys): a majority of them commits the next. */
  members: string[]
  coreRoles: string[]
  optionalRoles: string[]
  createdAt: number
  activatedAt: number | null
  reason?: string
}

export interface CouncilsInit {
  /**
   * Roles this agent can hold (`CONCLAVE_ROLES`); it claims them in councils that want them.
   *
   * @default []
   */
  roles?: string[]
  /**
   * Singletons this agent contends for (`CONCLAVE_SINGLETONS`), in its first tenant.
   *
   * @default []
   */
  singletons?: string[]
  /**
   * Name announced with claims.
   *
   * @default the peer id
   */
  name?: string
  /**
   * A proposal not committed within this long is proposed again under a higher epoch.
   *
   * @default 1500
   */
  proposalTimeoutMs?: number
  /**
   * A coordinator announces a council's latest commit again this long after it, then ever
   * further apart (see `announceInterval`), for members and agents that missed it.
   *
   * @default 5000
   */
  reannounceMs?: number
  /**
   * Longest interval between two such announcements.
   *
   * @default 60000
   */
  maxReannounceMs?: number
  /**
   * Where councils are kept across restarts (`fileCouncilStore(<data dir>/councils.json)` in an
   * agent): the promise that fences lower epochs, the last commit, and the claims.
   *
   * @default none: councils live in memory only
   */
  store?: CouncilStore
  /**
   * Councils open at once (not ended, singletons aside) in one tenant, as this agent sees them;
   * `open` beyond it throws `OverloadError`.
   *
   * @default 100
   */
  maxOpenPerTenant?: number
  /**
   * Councils open at once this agent follows over all its tenants.
   *
   * @default 200
   */
  maxOpen?: number
  /**
   * Structured logger.
   *
   * @default silent
   */
  logger?: Logger
}

/** The parts of membership councils use: who is alive, and changes. */
export interface CouncilMembership {
  stateOf(tenant: string, peerId: string): MemberState | undefined
  onChange(listener: (change: MemberChange) => void): () => void
  /**
   * Members of a tenant, alive or suspect, announcing any of `roles` in their presence records
   * (singleton contenders announce the singleton's name), with the roles each announces.
   */
  withRoles(tenant: string, roles: string[]): RoleHolder[]
}

export interface CouncilsComponents {
  peerId: PeerId
  privateKey: PrivateKey
  tenancy: Tenancy
  membership: CouncilMembership
  /**
   * Streams between a coordinator and its members: members send their acknowledgements to it
   * directly instead of flooding them to the tenant (see `ACK_PROTOCOL`), and it hands them its
   * commits (see `COMMIT_PROTOCOL`). Without it acks and commits are gossiped.
   */
  node?: CouncilStreamsComponents['node']
}

const ACK_DOMAIN = 'conclave/council-ack/v1\u0000'

/** What a proposal and the commit made of it share: what a member's acknowledgement signs. */
export type ProposalBody = Pick<ProposeMessage, 'epoch' | 'roster' | 'members' | 'base' | 'claims' | 'coordinator'>

/**
 * Digest of a proposal of council `id`: what a member's acknowledgement signs, the claims it
 * carries included (leaving them out was tried: see the council notes in docs/benchmarks.md).
 * Claims count only when present, so commits saved before they existed still verify.
 */
export function proposalDigest(id: string, p: ProposalBody): string {
  const parts = [
    id,
    p.epoch,
    p.roster,
    p.members,
    p.base,
    ...(p.claims !== undefined ? [p.claims] : []),
    ...(p.coordinator !== undefined ? [{ coordinator: p.coordinator }] : [])
  ]
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64')
}

/**
 * Councils over gossip, without a central coordinator service. The opener (or, for a
 * singleton, the lowest-ranked contender) coordinates formation; the roster is a deterministic
 * function of the claims; a roster commits under an epoch once a majority of the previous
 * epoch's members (at formation: of the claimants) signed it, and anyone can verify the commit.
 * Each member acknowledges at most one proposal per epoch and never a lower epoch than one it
 * acknowledged, so two rosters can never both commit under one epoch, and the minority side of a
 * partition commits nothing. When a holder dies or leaves, the first live member in a
 * deterministic order proposes the next epoch.
 */
export class Councils implements Startable {
  private readonly components: CouncilsComponents
  private readonly init: CouncilsInit
  private readonly log: Logger
  private readonly councils = new Map<string, Council>()
  private readonly channels = new Map<string, TenantChannel>()
  private readonly roles: string[]
  private readonly self: string
  private readonly proposalTimeoutMs: number
  private readonly reannounceMs: number
  private readonly maxReannounceMs: number
  private readonly listeners = new Set<(view: CouncilView) => void>()
  /**
   * Acks for councils this agent has not heard of yet, by council id, then digest: a council
   * formed from the presence view is first described by its proposal, and acks can overtake it.
   * Handed to the council when it is adopted; the oldest council's are dropped past a few.
   */
  private readonly strayAcks = new Map<string, Map<string, Map<string, string>>>()
  /** Acks to coordinators and commits to members over streams; none without a node (all is gossiped). */
  private readonly streams?: CouncilStreams
  private unsubscribe?: () => void
  private ticking?: Ticking
  /**
   * Set by `resignAll`: this agent is leaving, and neither claims nor proposes any more (it may
   * still commit its handover, which can make it the coordinator in its own eyes).
   */
  private resigning = false
  /** Commits this agent is publishing (see `publishCommit`): a graceful stop waits for them. */
  private readonly publishing = new Set<Promise<void>>()
  /** A save due (see `persist`), while one is. */
  private saveTimer?: ReturnType<typeof setTimeout>
  private started = false

  constructor(components: CouncilsComponents, init: CouncilsInit = {}) {
    this.components = components
    this.init = init
    this.log = (init.logger ?? silentLogger()).child({ component: 'councils' })
    this.roles = init.roles ?? []
    this.self = components.peerId.toString()
    this.proposalTimeoutMs = init.proposalTimeoutMs ?? C.PROPOSAL_TIMEOUT_MS
    this.reannounceMs = init.reannounceMs ?? C.REANNOUNCE_MS
    this.maxReannounceMs = init.maxReannounceMs ?? C.MAX_REANNOUNCE_MS
    if (components.node !== undefined) {
      this.streams = new CouncilStreams(
        { node: components.node },
        {
          onAck: async (from, ack) => {
            await this.onDirectAck(from, ack)
          },
          onRelayedAck: async (from, relayed) => await this.onRelayedAck(from, relayed),
          onCommit: async (from, commit) => {
            await this.onDirectCommit(from, commit)
          },
          ...(init.logger !== undefined ? { logger: init.logger } : {})
        }
      )
    }
  }

  readonly [Symbol.toStringTag] = 'conclave:councils'

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    this.resigning = false
    const { tenancy } = this.components
    for (const tenant of tenancy.tenants) {
      this.channels.set(
        tenant,
        tenancy.join(tenant, C.COUNCIL_CHANNEL, async msg => await this.onMessage(msg), {
          maxBytes: C.MAX_COUNCIL_MESSAGE_BYTES
        })
      )
    }
    this.restore()
    await this.streams?.start()
    this.unsubscribe = this.components.membership.onChange(this.onMemberChange)
    this.ticking = everyTick(TICK_MS, () => {
      this.tick()
    })
    const tenant = tenancy.tenants[0]
    if (tenant !== undefined) for (const name of this.init.singletons ?? []) this.contend(tenant, name)
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    this.ticking?.stop()
    for (const c of this.councils.values()) clearTimeout(c.gatherTimer)
    this.unsubscribe?.()
    await this.streams?.stop()
    for (const channel of this.channels.values()) this.components.tenancy.leave(channel)
    this.channels.clear()
    // A save that was due.
    if (this.saveTimer !== undefined) this.persist('now')
  }

  /** Listen to every council change; returns an unsubscribe function. */
  onChange(listener: (view: CouncilView) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Open a council (validated like the HTTP body); resolves to its id. Throws `CouncilRequestError`. */
  async open(body: unknown): Promise<string> {
    const parsed = openRequestSchema.safeParse(body)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      throw new CouncilRequestError(issue?.path.join('.') || 'body', issue?.message ?? 'invalid')
    }
    const req = parsed.data
    const tenants = this.components.tenancy.tenants
    const tenant = req.tenant ?? tenants[0]
    if (tenant === undefined || !tenants.includes(tenant)) {
      throw new CouncilRequestError('tenant', `this agent is not a member of tenant ${req.tenant ?? ''}`)
    }
    this.checkRoom(tenant)
    const overlap = req.coreRoles.filter(r => req.optionalRoles.includes(r))
    if (overlap.length > 0) {
      throw new CouncilRequestError('optionalRoles', `${overlap.join(', ')} also listed in coreRoles`)
    }
    if (new Set(req.coreRoles).size !== req.coreRoles.length) {
      throw new CouncilRequestError('coreRoles', 'a role is listed twice')
    }
    const d: Descriptor = {
      id: `c-${randomBytes(9).toString('base64url')}`,
      tenant,
      project: req.project,
      coreRoles: req.coreRoles,
      optionalRoles: req.optionalRoles,
      claimWindowMs: req.claimWindowMs ?? C.DEFAULT_CLAIM_WINDOW_MS,
      ttlMs: req.ttlMs ?? C.DEFAULT_COUNCIL_TTL_MS,
      maxRolesPerAgent: req.maxRolesPerAgent ?? C.DEFAULT_MAX_ROLES_PER_AGENT,
      createdAt: Date.now(),
      opener: this.self
    }
    const c = this.adopt(d)
    c.openedHere = true
    // The open or the proposal below is this council's first announcement: the next is due in REANNOUNCE_MS.
    c.lastAnnounceAt = Date.now()
    this.claimIfEligible(c, false)
    // Every presence record is a standing claim of the roles it announces: when the view names a
    // candidate for every wanted role, the first proposal goes out now, in place of the open, and
    // formation takes two gossip rounds (proposal, acks) instead of four (open, claims, proposal,
    // acks). Candidates the view missed claim when they see a proposal that leaves them out.
    this.reconcile(c, Date.now(), true)
    if (c.pending !== undefined) return d.id
    await this.send(tenant, { type: 'open', council: d })
    this.claimIfEligible(c)
    return d.id
  }

  /** End a council for every member (DELETE). */
  async dissolve(id: string, reason = 'dissolved by request'): Promise<CouncilView> {
    const c = this.councils.get(id)
    if (c === undefined) throw new UnknownCouncilError(id)
    this.end(c, 'dissolved', reason, true)
    await this.announceEnd(c)
    return this.view(c)
  }

  /** Withdraw from every council this agent holds a seat in (graceful leave): they hand over at once. */
  async resignAll(): Promise<void> {
    this.resigning = true
    const sends: Array<Promise<void>> = []
    const commits: Array<Promise<void>> = []
    for (const c of this.councils.values()) {
      if (isEnded(c.state) || !c.members.includes(this.self)) continue
      const { handover, acked } = this.handover(c)
      sends.push(
        this.send(c.d.tenant, {
          type: 'resign',
          id: c.d.id,
          epoch: c.epoch,
          ...(handover !== undefined ? { handover } : {})
        })
      )
      // The agent stops next: its ack of the handover must be out by then.
      if (acked !== undefined) sends.push(acked)
      if (handover !== undefined) commits.push(this.committed(c.d.id, handover.epoch, C.HANDOVER_COMMIT_WAIT_MS))
    }
    await Promise.allSettled(sends)
    // Leaving the mesh competes with the commit's flood (and takes this agent's relays out of
    // it): the seats are handed over first, for a bounded time, and a handover this agent
    // commits itself is handed to the members before it leaves.
    await Promise.allSettled(commits)
    await Promise.allSettled(this.publishing)
  }

  /** Resolves once council `id` is at `epoch` or above here (or ended), or after `timeoutMs`. */
  private async committed(id: string, epoch: number, timeoutMs: number): Promise<void> {
    const reached = (v: { epoch: number; state: CouncilState }): boolean => v.epoch >= epoch || isEnded(v.state)
    const c = this.councils.get(id)
    if (c === undefined || reached(c)) return
    await new Promise<void>(resolve => {
      const done = (): void => {
        clearTimeout(timer)
        off()
        resolve()
      }
      const timer = setTimeout(done, timeoutMs)
      const off = this.onChange(v => {
        if (v.id === id && reached(v)) done()
      })
    })
  }

  /**
   * The roster without this agent, proposed (and acknowledged) by this agent itself as it
   * resigns: the coordinator takes the proposal over instead of making its own, so a graceful
   * leave takes two gossip rounds (resignation with proposal, acks), not three. Every member
   * holds the same claims (commits carry them), so the successor is the one the coordinator
   * would pick. None before the first commit (formation is the coordinator's alone), and none
   * from a standby: nobody waits for a seat then, and standbys stopping together (a scale-down)
   * would each propose a different member set under one epoch and split the acknowledgements.
   * The coordinator removes them in one membership epoch instead.
   *
   * A leaver that coordinates commits its handover itself (its stop waits for that): the members
   * are connected to it, having sent it their acks, and its successor mostly is not, so the
   * successor could only gossip the commit (traced at 100 agents: 80-260 ms more). Its successor
   * keeps the handover as its pending proposal meanwhile, and commits it if the acks reach it.
   */
  private handover(c: Council): { handover?: ProposalBody; acked?: Promise<void> } {
    if (c.epoch === 0 || !c.roster.some(s => s.peerId === this.self)) return {}
    const claims = this.eligibleClaims(c).filter(cl => cl.peerId !== this.self)
    const { roster } = rosterFor(c, claims)
    // Whoever coordinates now commits it: this agent itself, if it does.
    const {
      proposal: { type, council, ...handover },
      acked
    } = this.draft(c, roster, claims, c.members, this.coordinatorOf(c))
    return { handover, acked }
  }

  list(): CouncilView[] {
    return [...this.councils.values()].filter(c => c.d.singleton !== true).map(c => this.view(c))
  }

  /** Every council this agent follows, singletons included (metrics). */
  all(): CouncilView[] {
    return [...this.councils.values()].map(c => this.view(c))
  }

  get(id: string): CouncilView | undefined {
    const c = this.councils.get(id)
    return c === undefined ? undefined : this.view(c)
  }

  /** Refuse a new council when this agent follows as many open ones as it may (singletons aside). */
  private checkRoom(tenant: string): void {
    let total = 0
    let inTenant = 0
    for (const c of this.councils.values()) {
      if (c.d.singleton === true || isEnded(c.state)) continue
      total++
      if (c.d.tenant === tenant) inTenant++
    }
    const perTenant = this.init.maxOpenPerTenant ?? C.DEFAULT_MAX_COUNCILS_PER_TENANT
    const overall = this.init.maxOpen ?? C.DEFAULT_MAX_COUNCILS
    if (inTenant >= perTenant) {
      throw new OverloadError(
        'CONCLAVE_MAX_COUNCILS_PER_TENANT',
        `tenant ${tenant} has ${inTenant} open councils, the most allowed; dissolve one or try later`,
        C.COUNCIL_RETRY_AFTER_S
      )
    }
    if (total >= overall) {
      throw new OverloadError(
        'CONCLAVE_MAX_COUNCILS',
        `this agent follows ${total} open councils, the most allowed; dissolve one or try later`,
        C.COUNCIL_RETRY_AFTER_S
      )
    }
  }

  /** Committed leader of every singleton this agent knows of (of one tenant, when given). */
  leaders(tenant?: string): Record<string, { peerId: string; epoch: number }> {
    const out: Record<string, { peerId: string; epoch: number }> = {}
    for (const c of this.councils.values()) {
      const holder = c.roster[0]
      if (tenant !== undefined && c.d.tenant !== tenant) continue
      if (c.d.singleton === true && holder !== undefined && !isEnded(c.state)) {
        out[holder.role] = { peerId: holder.peerId, epoch: c.epoch }
      }
    }
    return out
  }

  // --- views --------------------------------------------------------------------------------

  private view(c: Council): CouncilView {
    return {
      id: c.d.id,
      tenant: c.d.tenant,
      project: c.d.project,
      state: c.state,
      epoch: c.epoch,
      // Who coordinates now, not who the last commit names: that may be a coordinator that
      // committed its own handover and left.
      coordinator: (isEnded(c.state) ? (c.coordinator ?? c.d.opener) : this.coordinatorOf(c)) ?? null,
      roster: c.roster.map(s => ({ ...s })),
      members: [...c.members],
      coreRoles: c.d.coreRoles,
      optionalRoles: c.d.optionalRoles,
      createdAt: c.d.createdAt,
      activatedAt: c.activatedAt ?? null,
      ...(c.reason !== undefined ? { reason: c.reason } : {})
    }
  }

  private changed(c: Council): void {
    const view = this.view(c)
    for (const listener of this.listeners) {
      try {
        listener(view)
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'council listener failed')
      }
    }
  }

  // --- local state --------------------------------------------------------------------------

  /** Remember a council from any message that describes it. */
  private adopt(d: Descriptor): Council {
    let c = this.councils.get(d.id)
    if (c !== undefined) return c
    if (this.councils.size >= C.MAX_COUNCILS) this.forgetEnded(true)
    c = blankCouncil(d)
    const stray = this.strayAcks.get(d.id)
    if (stray !== undefined) c.earlyAcks = stray
    this.strayAcks.delete(d.id)
    this.councils.set(d.id, c)
    this.log.debug({ council: d.id, project: d.project }, 'council opened')
    this.persist()
    this.changed(c)
    return c
  }

  /** Councils of the tenants this agent (still) belongs to, as saved before a restart. */
  private restore(): void {
    const saved = this.init.store?.load() ?? []
    const now = Date.now()
    for (const s of saved) {
      if (!this.channels.has(s.d.tenant) || this.councils.has(s.d.id)) continue
      const c = restoredCouncil(s, this.self, now)
      this.councils.set(s.d.id, c)
      if (!isEnded(c.state)) {
        this.refreshState(c, false)
        // Claim again, member or not: the saved commit may still count this agent, but its
        // resignation on the way out has most likely been committed since (the claim repeats
        // until a commit counts it again).
        this.claimIfEligible(c)
      }
    }
    if (this.councils.size > 0) this.log.info({ councils: this.councils.size }, 'councils restored')
  }

  /**
   * Save every council this agent knows (a no-op without a store): `durable`, on disk when this
   * returns (a promise, before its acknowledgement leaves); `now`, written when this returns;
   * `soon`, within `SAVE_DELAY_MS`, in one write with every other change made meanwhile. Every
   * agent sees every proposal and commit: at 100 agents over 4 processes on 2 cores a save took
   * 2 ms (p50; 8 ms p95), and saving at once made every agent's worker write 25 times per
   * message, in gossip's validators, before passing it on.
   */
  private persist(mode: 'durable' | 'now' | 'soon' = 'soon'): void {
    const store = this.init.store
    if (store === undefined) return
    // Once stopped, nothing would fire a timer: every save is written at once.
    if (mode === 'soon' && this.started) {
      if (this.saveTimer === undefined) {
        this.saveTimer = setTimeout(() => {
          this.persist('now')
        }, C.SAVE_DELAY_MS)
        this.saveTimer.unref()
      }
      return
    }
    clearTimeout(this.saveTimer)
    this.saveTimer = undefined
    store.save([...this.councils.values()].map(savedCouncil), mode === 'durable')
  }

  /** `here`: this agent ends it for everyone, and answers members that missed the end (kept across restarts). */
  private end(c: Council, state: 'dissolved' | 'failed', reason: string, here = false): void {
    if (isEnded(c.state)) return
    if (here) c.endedHere = true
    c.state = state
    c.reason = reason
    c.endedAt = Date.now()
    c.pending = undefined
    this.log.info({ council: c.d.id, state, reason }, 'council ended')
    this.persist()
    this.changed(c)
  }

  /**
   * Tell every member that this agent ended `c` (dissolved it, or failed its formation). Gossip is
   * not stored, so a member may miss it: it then goes on claiming or announcing the council, and
   * `answerEnded` tells it again.
   */
  private async announceEnd(c: Council): Promise<void> {
    c.endedHere = true
    c.lastAnnounceAt = Date.now()
    await this.send(c.d.tenant, {
      type: 'end',
      id: c.d.id,
      state: c.state as 'dissolved' | 'failed',
      reason: c.reason ?? ''
    })
  }

  /**
   * A claim, open, proposal or commit for a council this agent ended itself: the sender missed
   * the end (claimants repeat their claims every second, members announce an orphaned commit
   * after three announcement intervals). Only the agent that ended it answers, at most once a
   * second, so that a stale announcement sets off one message, not one per agent.
   */
  private answerEnded(c: Council | undefined): void {
    // `endedHere` is only ever set on a council this agent ended: nothing to answer otherwise.
    if (c === undefined || c.endedHere !== true || Date.now() - c.lastAnnounceAt < C.ANNOUNCE_MIN_INTERVAL_MS) return
    void this.announceEnd(c)
  }

  private forgetEnded(all = false): void {
    const now = Date.now()
    let forgot = false
    for (const [id, c] of this.councils) {
      if (c.endedAt !== undefined && (all || now - c.endedAt > C.ENDED_RETENTION_MS)) forgot = this.councils.delete(id)
    }
    if (forgot) this.persist()
  }

  private alive(tenant: string, peerId: string): boolean {
    if (peerId === this.self) return this.started
    const state = this.components.membership.stateOf(tenant, peerId)
    return state === 'alive' || state === 'suspect'
  }

  /** Seats this agent holds in other live councils (its load, for tie-breaking). */
  private load(except: string): number {
    let n = 0
    for (const c of this.councils.values()) {
      if (c.d.id !== except && !isEnded(c.state)) n += c.roster.filter(s => s.peerId === this.self).length
    }
    return n
  }

  /** Record this agent's claim on `c` if it can hold a wanted role, and announce it unless `announce` is false. */
  private claimIfEligible(c: Council, announce = true): void {
    if (this.resigning || isEnded(c.state)) return
    const wanted = [...c.d.coreRoles, ...c.d.optionalRoles]
    const roles =
      c.d.singleton === true
        ? this.init.singletons?.includes(c.d.coreRoles[0] ?? '') === true
          ? c.d.coreRoles
          : []
        : this.roles.filter(r => wanted.includes(r))
    if (roles.length === 0) return
    const claim: Claim = { peerId: this.self, name: this.init.name ?? this.self, roles, load: this.load(c.d.id) }
    c.claims.set(this.self, claim)
    if (!announce) return
    c.claimed = true
    c.lastClaimAt = Date.now()
    void this.send(c.d.tenant, { type: 'claim', id: c.d.id, roles, load: claim.load, name: claim.name })
  }

  /** Contend for a singleton: a council every contender opens under the same id. */
  private contend(tenant: string, name: string): void {
    const d: Descriptor = {
      id: `singleton/${name}`,
      tenant,
      project: name,
      coreRoles: [name],
      optionalRoles: [],
      claimWindowMs: C.SINGLETON_CLAIM_WINDOW_MS,
      ttlMs: Number.MAX_SAFE_INTEGER,
      maxRolesPerAgent: 1,
      createdAt: 0,
      singleton: true
    }
    const c = this.adopt(d)
    c.formationAt = Date.now() + C.SINGLETON_SETTLE_MS
    this.claimIfEligible(c)
  }

  // --- coordination -------------------------------------------------------------------------

  /**
   * Who coordinates now, in every member's eyes alike: before the first commit the opener (or
   * the lowest-ranked live claimant once the opener is gone), after it the committing
   * coordinator while alive, else the lowest-ranked live member of the committed epoch.
   */
  private coordinatorOf(c: Council): string | undefined {
    const t = c.d.tenant
    const gone = (p: string): boolean => c.resigned.has(p) || !this.alive(t, p)
    const preferred = c.epoch === 0 ? c.d.opener : c.coordinator
    if (preferred !== undefined && !gone(preferred)) return preferred
    const pool = c.epoch === 0 ? [...c.claims.keys()] : c.members
    return pool.filter(p => !gone(p)).sort((a, b) => (rank(c.d.id, a) < rank(c.d.id, b) ? -1 : 1))[0]
  }

  /**
   * A singleton's first electorate: every contender the view knows (they announce the
   * singleton's role), not only those whose claims arrived, so that a contender cut off from the
   * others cannot elect itself alone.
   */
  private contenders(c: Council, claimants: string[]): string[] {
    return [
      ...new Set([...claimants, ...this.components.membership.withRoles(c.d.tenant, c.d.coreRoles).map(h => h.peerId)])
    ].sort()
  }

  /**
   * The claims a formation assigns seats from: the claims heard, and every live member whose
   * presence record announces a wanted role (a claim heard wins: it carries the claimant's load).
   * Singletons elect from claims only: a contender's record does not say it has settled in.
   */
  private formationClaims(c: Council): Claim[] {
    const heard = this.eligibleClaims(c)
    if (c.d.singleton === true) return heard
    const known = new Set(heard.map(cl => cl.peerId))
    const fromView = this.components.membership
      .withRoles(c.d.tenant, [...c.d.coreRoles, ...c.d.optionalRoles])
      .filter(h => !known.has(h.peerId) && !c.resigned.has(h.peerId))
      .map(h => ({ ...h, load: 0 }))
    return [...heard, ...fromView]
  }

  /** The claims that can hold seats now: live, not resigned. */
  private eligibleClaims(c: Council): Claim[] {
    return [...c.claims.values()].filter(cl => this.alive(c.d.tenant, cl.peerId) && !c.resigned.has(cl.peerId))
  }

  private tick(): void {
    if (!this.started || this.resigning) return
    const now = Date.now()
    for (const c of this.councils.values()) {
      if (isEnded(c.state)) continue
      if (now - c.d.createdAt > c.d.ttlMs) {
        this.end(c, 'dissolved', 'ttl expired')
        continue
      }
      // Claims repeat until a commit counts this agent among the members: one lost in gossip
      // (or arriving after the claim window) must not leave an optional seat empty for good.
      // Not while a proposal that counts it may still commit: under load the commit can take
      // longer than CLAIM_REPEAT_MS, and repeating every claim then only adds to the load.
      if (
        c.claimed &&
        !c.members.includes(this.self) &&
        now - c.lastClaimAt > C.CLAIM_REPEAT_MS &&
        now - c.claimHeardAt > this.proposalTimeoutMs
      ) {
        this.claimIfEligible(c)
      }
      // Anti-entropy: a member that missed a commit (lost gossip, a reconnect) gets it again.
      if (now - c.lastAnnounceAt > this.announceInterval(c, c.lastAnnounceAt)) this.announce(c)
      this.announceIfOrphaned(c, now)
      this.reconcile(c, now)
    }
    this.forgetEnded()
  }

  /**
   * If this agent coordinates `c` and its roster no longer matches what it should be, propose.
   * `atOpen`: called by the opener as it opens `c`, with no claims to wait for (see `open`).
   */
  private reconcile(c: Council, now = Date.now(), atOpen = false): void {
    if (this.resigning || isEnded(c.state) || this.coordinatorOf(c) !== this.self) return
    if (c.settleUntil !== undefined && now < c.settleUntil) return
    if (c.pending !== undefined) {
      // Each retry waits twice as long (up to 8×): under load a round of proposal and acks can
      // take longer than the base timeout, and proposing again at that pace never commits.
      if (now - c.pending.since < this.proposalTimeoutMs * 2 ** Math.min(c.retries, C.MAX_PROPOSAL_BACKOFF_DOUBLINGS)) {
        return
      }
      this.log.debug(
        {
          council: c.d.id,
          epoch: c.pending.epoch,
          acks: c.observed.get(c.pending.digest)?.acks.size ?? 0,
          retries: c.retries
        },
        'proposal timed out; proposing again'
      )
      c.pending = undefined
      c.retries++
    }
    const claims = c.epoch === 0 ? this.formationClaims(c) : this.eligibleClaims(c)
    const { roster, unfilled } = rosterFor(c, claims)
    const missingCore = unfilled.filter(r => c.d.coreRoles.includes(r))
    if (c.epoch === 0) {
      // Named as the opener, but without a memory of opening it: this agent lost its state (an
      // empty data dir) and its view of the claims. Judging the formation from that would fail a
      // council that may well have committed: the commit reaches it from the members instead.
      if (c.d.opener === this.self && c.openedHere !== true) return
      // Formation: at the end of the claim window, or earlier once every wanted role has a
      // candidate (after a short gathering of the claims the open sets off, if it was sent).
      const windowEnd = c.formationAt ?? c.d.createdAt + c.d.claimWindowMs
      const gatherEnd = c.d.createdAt + Math.min(C.CLAIM_GATHER_MS, c.d.claimWindowMs)
      const complete = c.d.singleton !== true && unfilled.length === 0
      if (now < windowEnd && !(complete && (atOpen || now >= gatherEnd))) {
        // Every role claimed before the gathering ends: propose right then, not at the next tick
        // (up to 250 ms later, a third of the formation target).
        if (complete) this.reconcileAt(c, gatherEnd)
        return
      }
    }
    if (c.epoch === 0 && missingCore.length > 0) {
      if (c.d.singleton === true) return
      const reason = `no claimant for core role ${missingCore.join(', ')} when the claim window ended`
      this.end(c, 'failed', reason, true)
      void this.announceEnd(c)
      return
    }
    const members = claims.map(cl => cl.peerId).sort()
    // A new epoch when the roster or the member set changed: members who joined (or came back
    // after a partition) must count in the next quorum, and gone ones must stop counting.
    if (c.epoch > 0 && sameRoster(roster, c.roster)) {
      if (sameSet(members, c.members)) return
      // Membership-only changes wait a little, so that agents flapping under load (or a burst of
      // joins) make one epoch, not one each.
      if (now - c.lastCommitAt < C.MEMBERS_EPOCH_MIN_INTERVAL_MS) return
    }
    const base = c.epoch > 0 ? c.members : c.d.singleton === true ? this.contenders(c, members) : members
    const { proposal, digest } = this.draft(c, roster, claims, base)
    c.pending = { epoch: proposal.epoch, base, digest, since: now }
    this.log.debug(
      { council: c.d.id, epoch: proposal.epoch, roster: roster.map(s => `${s.role}=${s.name}`) },
      'proposing roster'
    )
    void this.send(c.d.tenant, proposal)
  }

  /**
   * A proposal of `roster` to the `claims`' agents on `base`, above every epoch this agent has
   * seen, observed here (its acks are counted like anyone's, and kept after a timeout: members
   * apply a proposal on its acks, so one that reaches a majority late must still commit here)
   * and acknowledged by this agent if it is in `base` (the ack goes to `ackTo`). The caller sends it.
   */
  private draft(
    c: Council,
    roster: Seat[],
    claims: Claim[],
    base: string[],
    ackTo = this.self
  ): { proposal: ProposeMessage; digest: string; acked: Promise<void> } {
    const epoch = nextEpoch(c.promised, c.epoch, c.proposed)
    c.proposed = epoch
    const members = claims.map(cl => cl.peerId).sort()
    // The members' claims travel with the proposal: whoever coordinates a later epoch assigns
    // seats from them, whether or not their claims ever reached it.
    const carried = claims
      .map(({ peerId, name, roles, load }) => ({ peerId, name, roles, load }))
      .sort((a, b) => (a.peerId < b.peerId ? -1 : 1))
    const proposal: ProposeMessage = {
      type: 'propose',
      council: c.d,
      epoch,
      roster,
      members,
      base,
      claims: carried,
      coordinator: ackTo
    }
    const digest = proposalDigest(c.d.id, proposal)
    void this.observe(c, this.self, proposal, digest)
    const acked = this.acknowledge(c, epoch, digest, base, ackTo).catch(err => {
      this.log.warn({ council: c.d.id, epoch, err: (err as Error).message }, 'acknowledging own proposal failed')
    })
    return { proposal, digest, acked }
  }

  private reconcileAt(c: Council, at: number): void {
    if (c.gatherTimer !== undefined || !this.started) return
    c.gatherTimer = setTimeout(
      () => {
        c.gatherTimer = undefined
        if (this.started) this.reconcile(c)
      },
      Math.max(0, at - Date.now())
    )
    c.gatherTimer.unref()
  }

  /**
   * `to`: who gets the ack (see `ackRecipient`); gossiped to all when it cannot be reached
   * directly, unless the commit of its epoch reached this agent meanwhile.
   */
  private async acknowledge(
    c: Council,
    epoch: number,
    digest: string,
    base: string[],
    to = this.ackRecipient(c, digest)
  ): Promise<void> {
    if (!mayAck(this.self, c.promised, { epoch, base }, c.epoch > 0 ? c.members : undefined)) return
    c.promised = epoch
    // On disk before the acknowledgement leaves (or counts here): a restart, even after a power
    // loss, must not acknowledge this epoch twice.
    this.persist('durable')
    const sig = toString(await this.components.privateKey.sign(fromString(ACK_DOMAIN + digest)), 'base64')
    await this.countAck(c, this.self, epoch, digest, sig, true)
    const ack: AckMessage = { type: 'ack', id: c.d.id, epoch, digest, sig }
    if (to === this.self) return
    if (
      to !== undefined &&
      this.streams !== undefined &&
      (await this.streams.sendInTime(to, ack, c.observed.get(digest)?.via))
    ) {
      return
    }
    // Not through within the hedge, but moot once the commit of this epoch reached this agent (its
    // coordinator had a majority without this ack), once a later epoch committed, or once the
    // council ended. Not when this agent applied it on the acks it saw: this one may have been
    // among them, and the coordinator lacks it. Traced at 100 agents over 4 processes on 2 cores:
    // 2-4 acks a formation were gossiped after their member had applied the commit, each a flood
    // through every agent of the tenant, on cores that the formation's floods already saturate.
    if (c.epoch > epoch || (c.receivedCommit ?? 0) >= epoch || isEnded(c.state)) return
    await this.send(c.d.tenant, ack)
  }

  /** Who gets this agent's ack of the proposal with `digest`: whoever commits it (see `committer`). */
  private ackRecipient(c: Council, digest: string): string | undefined {
    const o = c.observed.get(digest)
    return o === undefined ? undefined : this.committer(c, o.from, o.proposal)
  }

  /**
   * Who publishes the commit of proposal `p` made by `from`, and so is sent its acks: the
   * coordinator it names (its proposer; for a handover the coordinator, the leaver itself when it
   * coordinated). A proposal
   * of an earlier version names none: its proposer, or the coordinator when the proposer
   * resigned with it.
   */
  private committer(c: Council, from: string, p: ProposalBody): string | undefined {
    return p.coordinator ?? (c.resigned.has(from) ? this.coordinatorOf(c) : from)
  }

  /** An ack sent to this agent directly (see `CouncilStreams`): counted like a gossiped one. */
  private async onDirectAck(from: string, ack: AckMessage): Promise<void> {
    const c = this.councils.get(ack.id)
    // Gossiped acks come through tenancy, which admits tenant members only; these are held to the
    // same: a stranger must not fill the early-ack buffers.
    if (c === undefined || ack.epoch <= c.epoch || !this.alive(c.d.tenant, from)) return
    await this.countAck(c, from, ack.epoch, ack.digest, ack.sig)
  }

  /**
   * An ack relayed here by `from` (see `ACK_RELAY_PROTOCOL`): counted if this agent is the
   * coordinator it is for; else passed on, once per signer, to the coordinator if connected to
   * it, or back the way the proposal came. Relays check no signature (the coordinator does), only
   * that the proposal is one they saw and the signer one of its base: a relay is no amplifier.
   */
  private async onRelayedAck(from: string, relayed: RelayedAck): Promise<RelayRoute> {
    const { ack } = relayed
    const c = this.councils.get(ack.id)
    if (c === undefined || ack.epoch <= c.epoch || !this.alive(c.d.tenant, from)) return 'dropped'
    if (relayed.to === this.self) {
      return (await this.countAck(c, relayed.signer, ack.epoch, ack.digest, ack.sig)) ? 'counted' : 'dropped'
    }
    const o = c.observed.get(ack.digest)
    if (o === undefined || !o.proposal.base.includes(relayed.signer) || o.relayed?.has(relayed.signer) === true) {
      return 'dropped'
    }
    o.relayed ??= new Set()
    o.relayed.add(relayed.signer)
    return { next: o.via !== undefined ? [relayed.to, o.via] : [relayed.to] }
  }

  /**
   * An ack of a proposal observed here (this agent's own included): once a majority of its base
   * acknowledged it, apply it, and publish the commit if the proposal was this agent's. Returns
   * false for a bad signature.
   */
  private async countAck(
    c: Council,
    from: string,
    epoch: number,
    digest: string,
    sig: string,
    checked = false
  ): Promise<boolean> {
    const o = c.observed.get(digest)
    if (o === undefined) {
      // Bounded: a few proposals' worth, dropped when a commit moves past them.
      keepEarlyAck(c.earlyAcks, from, digest, sig)
      return true
    }
    const p = o.proposal
    if (p.epoch !== epoch || !p.base.includes(from) || o.acks.has(from) || quorum(o.acks.size, p.base)) return true
    if (!checked && !(await verifyAck(from, digest, sig))) return false
    o.acks.set(from, sig)
    // Checked again after the await: a commit may have moved this council on meanwhile.
    if (!quorum(o.acks.size, p.base) || p.epoch <= c.epoch || isEnded(c.state)) return true
    const commit: CommitMessage = { ...p, type: 'commit', acks: [...o.acks].map(([peerId, s]) => ({ peerId, sig: s })) }
    // This agent publishes the commit of the proposals it is sent the acks of, and of a handover
    // it took over (the members apply it from that commit).
    const publish = this.committer(c, o.from, p) === this.self || c.pending?.digest === digest
    this.log.debug(
      { council: c.d.id, epoch, acks: o.acks.size, publish },
      'a majority acknowledged the proposal; applying it'
    )
    // The publisher applies it as its receivers will: from itself (the proposer of a handover of
    // an earlier version may be back by now, no longer counted as resigned).
    this.apply(c, commit, publish ? this.self : o.from)
    if (publish) {
      // Written before it leaves: a coordinator that crashed right after would come back
      // coordinating the epoch before it, and propose on a base no member holds any more.
      this.persist('now')
      const publishing = this.publishCommit(c, commit).finally(() => this.publishing.delete(publishing))
      this.publishing.add(publishing)
    }
    return true
  }

  /**
   * Publish this agent's commit: to the members directly first, then to the previous epoch's
   * members still alive that it leaves out (a leaver waiting for its handover among them), when
   * it has a connection to every one of them, then to the whole tenant by gossip (see
   * `COMMIT_PROTOCOL`). With any of them unconnected it gossips at once: that member waits for
   * the gossip, which must not be held up for it.
   */
  private async publishCommit(c: Council, commit: CommitMessage): Promise<void> {
    const { streams } = this
    const members = commit.members.filter(m => m !== this.self)
    const outgoing = commit.base.filter(
      m => m !== this.self && !commit.members.includes(m) && this.alive(c.d.tenant, m)
    )
    if (
      streams !== undefined &&
      members.length + outgoing.length > 0 &&
      [...members, ...outgoing].every(m => streams.connected(m))
    ) {
      await streams.sendCommit(members, commit, C.DIRECT_COMMIT_WAIT_MS)
      // The outgoing last: a leaver stops once it has its handover's commit, and its departure
      // (a `left` flood, its connections closing) competed with the deliveries to the members.
      if (outgoing.length > 0) void streams.sendCommit(outgoing, commit, C.DIRECT_COMMIT_WAIT_MS)
    }
    await this.send(c.d.tenant, commit)
  }

  /**
   * A commit its coordinator handed this agent directly: taken only from the coordinator it names,
   * a live member of one of this agent's tenants (gossip admits tenant members only), for a
   * council this agent follows and an epoch it is a member of or built on; then checked and
   * applied like a gossiped one. Anything else is refused, and the commit's gossip brings it.
   */
  private async onDirectCommit(from: string, commit: CommitMessage): Promise<void> {
    const { tenant, id } = commit.council
    if (!this.channels.has(tenant) || !this.alive(tenant, from)) {
      throw new ProtocolError("not from a live member of this agent's tenants")
    }
    if (commit.coordinator !== from) throw new ProtocolError('not from the coordinator the commit names')
    if (!this.councils.has(id) || !(commit.members.includes(this.self) || commit.base.includes(this.self))) {
      throw new ProtocolError('not a commit this agent takes part in')
    }
    const verdict = await this.onCommit(from, commit)
    if (verdict !== 'accept') {
      throw new ProtocolError(`commit refused: ${typeof verdict === 'string' ? verdict : verdict.reject}`)
    }
  }

  private keepStrayAck(id: string, from: string, digest: string, sig: string): void {
    let acks = this.strayAcks.get(id)
    if (acks === undefined) {
      if (this.strayAcks.size >= C.MAX_STRAY_ACK_COUNCILS) {
        this.strayAcks.delete(this.strayAcks.keys().next().value as string)
      }
      acks = new Map()
      this.strayAcks.set(id, acks)
    }
    keepEarlyAck(acks, from, digest, sig)
  }

  /** Remember a proposal (another coordinator's, or this agent's own), with any acks that came ahead of it. */
  private async observe(c: Council, from: string, p: ProposeMessage, digest: string, via?: string): Promise<void> {
    if (p.epoch <= c.epoch || c.observed.has(digest)) return
    if (c.observed.size >= C.MAX_OBSERVED_PROPOSALS) c.observed.delete(c.observed.keys().next().value as string)
    c.observed.set(digest, { from, proposal: p, acks: new Map(), ...(via !== undefined ? { via } : {}) })
    const early = c.earlyAcks.get(digest)
    c.earlyAcks.delete(digest)
    for (const [peer, sig] of early ?? []) await this.countAck(c, peer, p.epoch, digest, sig)
  }

  /** Apply `commit`, passed on (or, for this agent's own, published) by `publisher`. */
  private apply(c: Council, commit: CommitMessage, publisher: string): void {
    for (const [digest, o] of c.observed) if (o.proposal.epoch <= commit.epoch) c.observed.delete(digest)
    c.earlyAcks.clear()
    const before = c.state
    c.epoch = commit.epoch
    c.promised = Math.max(c.promised, commit.epoch)
    c.roster = commit.roster
    c.members = commit.members
    // The coordinator the commit names, signed by the majority. A commit of an earlier version
    // names none: its publisher coordinates, unless it is a member that proposed this epoch as
    // it handed its seat over (then the coordinator stays).
    if (commit.coordinator !== undefined) c.coordinator = commit.coordinator
    else if (!c.resigned.has(publisher) || c.coordinator === undefined) c.coordinator = publisher
    c.lastCommit = commit
    c.lastCommitAt = Date.now()
    c.lastHeardCommitAt = c.lastCommitAt
    c.retries = 0
    // A proposal pending here is dropped once superseded, or once it builds on a member set
    // this commit replaced (members would refuse it): the next reconcile proposes afresh.
    if (c.pending !== undefined && (c.pending.epoch <= commit.epoch || !sameSet(c.pending.base, commit.members))) {
      c.pending = undefined
    }
    this.learnClaims(c, commit)
    this.refreshState(c, false)
    if (c.state === 'active' && c.activatedAt === undefined) c.activatedAt = Date.now()
    this.persist()
    this.log.info(
      {
        council: c.d.id,
        epoch: c.epoch,
        state: c.state,
        from: before,
        roster: c.roster.map(s => `${s.role}=${s.name}`)
      },
      'roster committed'
    )
    this.changed(c)
    this.connectToCoordinator(c)
  }

  /**
   * A member connects to its coordinator once a commit makes it one: its acks and the
   * coordinator's commits then go over that connection from the next round on. Members dial the
   * coordinator for their acks anyway, but a coordinator that took over by committing a leaver's
   * handover, or that never had a round yet, would otherwise get those dials in the middle of a
   * round (traced at 100 agents: connected to 2-3 of 4-5 members, it gossiped its commit).
   */
  private connectToCoordinator(c: Council): void {
    if (this.resigning || !c.members.includes(this.self)) return
    const coordinator = this.coordinatorOf(c)
    if (coordinator !== undefined && coordinator !== this.self) this.streams?.connect(coordinator)
  }

  /**
   * Every member of a commit becomes a claimant here, with the claim the commit carries when this
   * agent never heard it: a standby this agent knew only as a member could otherwise never be
   * given the seat it stands by for, once this agent coordinates.
   */
  private learnClaims(c: Council, commit: ProposalBody): void {
    const carried = new Map(commit.claims?.map(cl => [cl.peerId, cl]))
    for (const m of commit.members) {
      const known = c.claims.get(m)
      if (known !== undefined && known.roles.length > 0) continue
      // Commits from earlier versions carry no claims: what the roster shows is all there is.
      c.claims.set(
        m,
        carried.get(m) ??
          known ?? {
            peerId: m,
            name: commit.roster.find(s => s.peerId === m)?.name ?? m,
            roles: commit.roster.filter(s => s.peerId === m).map(s => s.role),
            load: 0
          }
      )
    }
  }

  /** active when every core role is held by a live member, degraded otherwise (and reassigning). */
  /** Returns whether the state changed; `notify` tells listeners (apply notifies once itself). */
  private refreshState(c: Council, notify = true): boolean {
    if (isEnded(c.state) || c.epoch === 0) return false
    const lost = c.d.coreRoles.filter(role => {
      const seat = c.roster.find(s => s.role === role)
      return seat === undefined || !this.alive(c.d.tenant, seat.peerId) || c.resigned.has(seat.peerId)
    })
    const next: CouncilState = lost.length === 0 ? 'active' : 'degraded'
    if (next === 'degraded') c.reason = `core role ${lost.join(', ')} lost; reassigning`
    else delete c.reason
    if (next === c.state) return false
    c.state = next
    if (notify) this.changed(c)
    return true
  }

  // --- messages -----------------------------------------------------------------------------

  private async send(tenant: string, message: CouncilMessage): Promise<void> {
    const channel = this.channels.get(tenant)
    if (channel === undefined) return
    try {
      await channel.publish(encodeJson(message))
    } catch (err) {
      this.log.debug({ type: message.type, err: (err as Error).message }, 'council publish failed')
    }
  }

  private readonly onMessage = async (msg: TenantMessage): Promise<Verdict> => {
    const message = decodeJson(msg.payload, councilMessageSchema)
    if (message === undefined) return { reject: 'malformed' }
    if ('council' in message && message.council.tenant !== msg.tenant) return { reject: 'wrong-tenant' }
    switch (message.type) {
      case 'open': {
        if (message.council.opener !== msg.from) return { reject: 'sender-mismatch' }
        const c = this.adopt(message.council)
        this.answerEnded(c)
        this.claimIfEligible(c)
        return 'accept'
      }
      case 'claim': {
        const c = this.councils.get(message.id)
        // Relays that do not know the council (yet) still pass the claim on to the coordinator.
        if (c === undefined || isEnded(c.state)) {
          this.answerEnded(c)
          return 'accept'
        }
        const wanted = [...c.d.coreRoles, ...c.d.optionalRoles]
        if (message.roles.some(r => !wanted.includes(r))) return { reject: 'unwanted-role' }
        // A credential must grant every role claimed (the open tenant has no credentials).
        if (
          msg.claims !== undefined &&
          c.d.singleton !== true &&
          !message.roles.every(r => msg.claims?.roles.includes('*') === true || msg.claims?.roles.includes(r) === true)
        ) {
          return { reject: 'role-not-granted' }
        }
        c.claims.set(msg.from, { peerId: msg.from, name: message.name, roles: message.roles, load: message.load })
        // Claiming again after a restart withdraws the resignation of its previous run: its
        // peers may have seen no membership change (a quick restart whose leave got lost).
        if ((c.resigned.get(msg.from) ?? Infinity) < msg.session) c.resigned.delete(msg.from)
        this.reconcile(c)
        return 'accept'
      }
      case 'resign': {
        const c = this.councils.get(message.id)
        if (c === undefined) return 'accept'
        // A resignation is for the epoch it names. A copy still in flight when the agent came back
        // (gossip replays recent messages to new subscribers, this agent's own previous run
        // included) must not unseat it from a later roster.
        if (msg.from === this.self || (message.epoch !== undefined && message.epoch < c.epoch)) return 'accept'
        c.resigned.set(msg.from, msg.session)
        this.refreshState(c)
        if (message.handover !== undefined) {
          await this.takeOver(c, msg.from, { type: 'propose', council: c.d, ...message.handover }, msg.via)
        }
        this.reconcile(c)
        return 'accept'
      }
      case 'propose':
        return await this.onPropose(msg.from, message, msg.via)
      case 'ack': {
        // Signatures are checked only where an ack counts: at the coordinator it is for, and at
        // agents that saw its proposal, until they have a majority. Relays pass the rest on
        // unchecked (the envelope already proves who sent it): checking every ack at all N
        // agents cost N signature checks per ack.
        const c = this.councils.get(message.id)
        if (c === undefined) {
          this.keepStrayAck(message.id, msg.from, message.digest, message.sig)
          return 'accept'
        }
        if (message.epoch <= c.epoch) return 'accept'
        // A bad signature is dropped, not penalised: the relay that passed it did not check it.
        return (await this.countAck(c, msg.from, message.epoch, message.digest, message.sig)) ? 'accept' : 'ignore'
      }
      case 'commit':
        return await this.onCommit(msg.from, message)
      case 'nack': {
        const c = this.councils.get(message.id)
        if (c !== undefined) c.proposed = Math.max(c.proposed, message.promised)
        return 'accept'
      }
      case 'end': {
        const c = this.councils.get(message.id)
        if (c === undefined) return 'accept'
        // `failed` is a formation's outcome: it cannot undo a roster this agent saw committed.
        if (message.state === 'failed' && c.epoch > 0) return 'accept'
        this.end(c, message.state, message.reason)
        return 'accept'
      }
    }
  }

  /**
   * A resigning member's proposal of its successor roster: acknowledged like any proposal, and
   * made the coordinator's pending one, so that it does not propose the same change again under
   * another epoch (the two would split the acknowledgements). One it would not make itself (a
   * member set it sees otherwise) is left to time out: its own proposal follows.
   */
  private async takeOver(c: Council, from: string, p: ProposeMessage, via?: string): Promise<void> {
    await this.onPropose(from, p, via)
    // This agent commits it, or coordinates once its leaver (committing it itself) has gone.
    const committer = this.committer(c, from, p)
    const mine = committer === this.self || (committer === from && this.coordinatorOf(c) === this.self)
    if (!mine || c.pending !== undefined || p.epoch <= c.epoch || !sameSet(p.base, c.members)) return
    if (!sameRoster(rosterFor(c, this.eligibleClaims(c)).roster, p.roster)) return
    c.proposed = Math.max(c.proposed, p.epoch)
    c.pending = { epoch: p.epoch, base: p.base, digest: proposalDigest(c.d.id, p), since: Date.now() }
  }

  /** Acknowledge a proposal if this member may; relay it either way (others may need it). */
  private async onPropose(from: string, p: ProposeMessage, via?: string): Promise<Verdict> {
    if (new Set(p.roster.map(s => s.role)).size !== p.roster.length) return { reject: 'duplicate-seat' }
    const c = this.adopt(p.council)
    this.answerEnded(c)
    if (isEnded(c.state) || from === this.self) return 'accept'
    if (p.members.includes(this.self)) c.claimHeardAt = Date.now()
    else if (c.epoch === 0 && !c.claimed) {
      // A formation proposal made from the opener's presence view, which did not list this
      // agent (the opener sent no open to claim on): claim now, if it can hold a wanted role.
      this.claimIfEligible(c)
    }
    // Whoever coordinates the formation if this proposal's coordinator dies assigns from these.
    if (c.epoch === 0) this.learnClaims(c, p)
    // Fencing: never acknowledge an epoch not above one already acknowledged or committed, and
    // only a proposal that builds on the epoch this member committed (its base is that epoch's members).
    if (c.epoch > 0 && !sameSet(p.base, c.members)) return 'accept'
    const digest = proposalDigest(c.d.id, p)
    await this.observe(c, from, p, digest, via)
    if (p.epoch <= c.promised) {
      if (p.base.includes(this.self)) void this.send(c.d.tenant, { type: 'nack', id: c.d.id, promised: c.promised })
      return 'accept'
    }
    // Not awaited: this runs in gossipsub's validator, and the proposal is passed on only once it
    // returns. Awaiting the ack's delivery (a stream to the coordinator) held the flood up at
    // every member it crossed. The promise is made before this returns (`acknowledge` fences
    // the epoch before its first await).
    void this.acknowledge(c, p.epoch, digest, p.base).catch(err => {
      this.log.warn({ council: c.d.id, epoch: p.epoch, err: (err as Error).message }, 'acknowledging a proposal failed')
    })
    return 'accept'
  }

  private async onCommit(from: string, commit: CommitMessage): Promise<Verdict> {
    const c = this.adopt(commit.council)
    this.answerEnded(c)
    if (commit.epoch === c.epoch) c.lastHeardCommitAt = Date.now()
    if (commit.epoch <= c.epoch) return 'accept'
    const digest = proposalDigest(commit.council.id, commit)
    const signers = new Set<string>()
    for (const ack of commit.acks) {
      // A majority is the whole proof: the remaining signatures need no check.
      if (quorum(signers.size, commit.base)) break
      if (!commit.base.includes(ack.peerId) || signers.has(ack.peerId)) continue
      if (await verifyAck(ack.peerId, digest, ack.sig)) signers.add(ack.peerId)
    }
    if (!quorum(signers.size, commit.base)) return { reject: 'no-quorum' }
    const roles = new Set<string>()
    for (const seat of commit.roster) {
      if (roles.has(seat.role)) return { reject: 'duplicate-seat' }
      roles.add(seat.role)
    }
    // Checked again after the awaits: a newer commit may have been applied meanwhile.
    if (commit.epoch <= c.epoch) return 'accept'
    // Also after the end: a commit made before the council ended that arrives late still moves
    // the record to its epoch, so it converges everywhere (`apply` never changes an ended state).
    c.receivedCommit = commit.epoch
    this.apply(c, commit, from)
    return 'accept'
  }

  private readonly onMemberChange = (change: MemberChange): void => {
    if (change.state !== 'dead' && change.state !== 'left' && change.state !== 'alive') return
    // Joined, restarted, or back from the dead (a healed partition): it may have missed commits.
    const newcomer =
      change.state === 'alive' &&
      (change.reason === 'joined' || change.reason === 'rejoined' || change.reason === 'recovered')
    for (const c of this.councils.values()) {
      if (c.d.tenant !== change.tenant || isEnded(c.state)) continue
      if (change.state === 'alive') c.resigned.delete(change.peerId)
      if (newcomer) this.announce(c)
      this.refreshState(c)
      this.reconcile(c)
    }
  }

  /**
   * The coordinator re-announces the committed epoch every few seconds. When nobody has for much
   * longer, the coordinator has lost the council (a restart with an empty data dir) while its
   * peers still wait for it: a member announces the commit instead, members in rank order, one
   * second apart, so that the first announcement silences the rest.
   */
  private announceIfOrphaned(c: Council, now: number): void {
    if (c.lastCommit === undefined || !c.members.includes(this.self)) return
    const quiet = now - c.lastHeardCommitAt
    const expected = C.ORPHANED_AFTER_INTERVALS * this.announceInterval(c, c.lastHeardCommitAt)
    // Checked first: this runs on every tick, the rest (an order of the members) only when due.
    if (quiet < expected || this.coordinatorOf(c) === this.self) return
    const order = [...c.members].sort((a, b) => (rank(c.d.id, a) < rank(c.d.id, b) ? -1 : 1)).indexOf(this.self)
    if (quiet < expected + order * C.ANNOUNCE_MIN_INTERVAL_MS) return
    c.lastHeardCommitAt = now
    this.log.debug({ council: c.d.id, epoch: c.epoch }, 'no announcement of the committed epoch; announcing it')
    void this.send(c.d.tenant, c.lastCommit)
  }

  private announceInterval(c: Council, at: number): number {
    return announceInterval(c, at, this.reannounceMs, this.maxReannounceMs)
  }

  /**
   * Gossip is not stored: an agent that joins later learns of a council because its coordinator
   * announces it again (the open while forming, the latest commit after), at most once a second.
   */
  private announce(c: Council): void {
    const now = Date.now()
    if (this.coordinatorOf(c) !== this.self || now - c.lastAnnounceAt < C.ANNOUNCE_MIN_INTERVAL_MS) return
    c.lastAnnounceAt = now
    if (c.lastCommit !== undefined) {
      c.lastHeardCommitAt = now
      void this.send(c.d.tenant, c.lastCommit)
    } else if (c.d.opener === this.self) void this.send(c.d.tenant, { type: 'open', council: c.d })
  }
}

async function verifyAck(peer: string, digest: string, sig: string): Promise<boolean> {
  try {
    const key = peerIdFromString(peer).publicKey
    if (key == null) return false
    return await key.verify(fromString(ACK_DOMAIN + digest), fromString(sig, 'base64'))
  } catch {
    return false
  }
}
