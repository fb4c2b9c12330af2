/**
 * The membership core: SWIM with Lifeguard, as memberlist runs it, as a synchronous state machine.
 * `step(input, now)` applies one input and returns the effects the shell carries out; `wakeAt`
 * says when to call again with a tick. No clock, no timers, no IO: the same inputs give the same
 * effects, which is what lets the simulator replay a run from its seed.
 *
 * Cost per agent is flat in the size of the mesh: one probe (ping and ack) per protocol period,
 * news piggybacked on it, extra gossip only while news is queued, and a push-pull with one member
 * at an interval that stretches as the mesh grows.
 */
import { Broadcasts } from './broadcasts.js'
import { DEFAULT_CORE_OPTIONS, pushPullInterval, retransmitLimit, type CoreOptions } from './options.js'
import { isLive, MemberTable, tenantList, type Member } from './state.js'
import { suspicionBounds } from './suspicion.js'
import type { CoreIdentity, Effect, Input, MemberChange, PeerState, SyncEntry, Update, Wire } from './types.js'

/** Forgetting and the contact log are tidied this often. */
const HOUSEKEEPING_MS = 5_000
/**
 * The first push-pull after a start, then twice as late each time until the regular interval: a
 * newcomer whose first sync came before most of the mesh had joined catches up in a few rounds
 * (gossip alone leaves a few members out now and then), at O(log) extra messages in its lifetime.
 * Once the view stayed the same from one push-pull to the next, the regular interval applies.
 */
const FIRST_PUSH_PULL_MS = 1_000
/** Seeds kept for a lonely agent to try again. */
const MAX_SEEDS = 16

/** Deliberate protocol bugs (tests only). */
export interface CoreBugs {
  /** Never refute a suspicion or death of this agent. */
  noRefutation?: boolean
  /** Never declare a suspect dead. */
  suspectForever?: boolean
}

interface Probe {
  seq: number
  target: string
  /** Helpers are asked at this time unless the ack came. */
  indirectAt: number
  /** The verdict: an ack by now, or the target is suspect. */
  endAt: number
  indirectSent: boolean
  acked: boolean
  expectedNacks: number
  nacks: number
}

/** A ping this agent sends for another one (a ping-req): the ack goes back to it, or a nack. */
interface Relay {
  origin: string
  originSeq: number
  nackAt: number
}

export class MembershipCore {
  readonly self: string
  private readonly o: CoreOptions
  private readonly random: () => number
  private readonly table: MemberTable
  private readonly queue = new Broadcasts()
  private readonly tenants: string[]
  private incarnation: number
  private meta: string | undefined
  private awareness = 0
  private started = false
  private leaving = false
  private seq = 0
  private order: string[] = []
  private orderAt = 0
  private probe: Probe | undefined
  private readonly relays = new Map<number, Relay>()
  private readonly contacted = new Map<string, number>()
  /** Peers given at start or found by discovery: tried again while this agent knows no live member. */
  private readonly seeds: string[] = []
  private nextProbeAt = Infinity
  private nextGossipAt = Infinity
  private nextPushPullAt = Infinity
  private nextReconnectAt = Infinity
  private nextHousekeepingAt = Infinity
  /** Push-pull comes early after a start, then at intervals doubling up to the regular one. */
  private pushPullBackoff = FIRST_PUSH_PULL_MS
  /** Live members at the last push-pull: a view that stopped growing needs no early ones. */
  private viewAtPushPull = -1
  private out: Effect[] = []
  /** When the core wants its next tick. */
  wakeAt = Infinity

  /**
   * `random`: uniform in [0, 1); the simulator passes a seeded generator. `bugs`: deliberate
   * protocol bugs, for tests that prove the simulator's monitor catches them; never set otherwise.
   */
  constructor(
    identity: CoreIdentity,
    options: Partial<CoreOptions> = {},
    random: () => number = Math.random,
    private readonly bugs: CoreBugs = {}
  ) {
    this.self = identity.self
    this.o = { ...DEFAULT_CORE_OPTIONS, ...options }
    this.random = random
    this.tenants = tenantList(identity.tenants)
    this.incarnation = identity.incarnation ?? 0
    this.meta = identity.meta
    this.table = new MemberTable(this.self, this.tenants)
  }

  /** Local health: 0 is healthy; timeouts are stretched by `awareness + 1`. */
  get health(): number {
    return this.awareness
  }
  get currentIncarnation(): number {
    return this.incarnation
  }
  get isLeaving(): boolean {
    return this.leaving
  }

  stateOf(peer: string): PeerState | undefined {
    return this.table.get(peer)?.state
  }

  /** Every member this agent knows, itself included. */
  members(): Array<Readonly<Member>> {
    return [...this.table.members.values()]
  }

  /** Members other than this agent that are alive or suspect. */
  liveOthers(): readonly string[] {
    return this.table.live.items
  }

  step(input: Input, now: number): Effect[] {
    this.out = []
    switch (input.type) {
      case 'start':
        this.start(input.seeds ?? [], now)
        break
      case 'tick':
        if (this.started) this.tick(now)
        break
      case 'message':
        if (this.started) this.receive(input.from, input.message, now)
        break
      case 'discovered':
        if (!this.started) break
        this.remember(input.peer)
        this.contact(input.peer, now)
        break
      case 'set-meta':
        this.meta = input.meta
        if (this.started && !this.leaving) this.bump(now)
        break
      case 'leave':
        if (this.started) this.leave(now)
        break
    }
    this.wakeAt = this.nextWake()
    return this.out
  }

  // --- life cycle ---------------------------------------------------------------------------

  private start(seeds: string[], now: number): void {
    if (this.started) return
    this.started = true
    // One above anything said before a restart: the return outranks every rumour of a death.
    this.incarnation++
    this.out.push({ type: 'persist', incarnation: this.incarnation })
    this.table.add({
      peer: this.self,
      incarnation: this.incarnation,
      state: 'alive',
      tenants: this.tenants,
      ...(this.meta !== undefined ? { meta: this.meta } : {}),
      since: now
    })
    this.nextProbeAt = now + Math.floor(this.random() * this.o.probeIntervalMs)
    this.nextGossipAt = now + this.o.gossipIntervalMs
    this.nextPushPullAt = now + FIRST_PUSH_PULL_MS + Math.floor(this.random() * FIRST_PUSH_PULL_MS)
    this.nextReconnectAt = now + this.o.reconnectIntervalMs
    this.nextHousekeepingAt = now + HOUSEKEEPING_MS
    for (const seed of seeds) this.remember(seed)
    for (const seed of seeds) this.contact(seed, now)
  }

  private remember(peer: string): void {
    if (peer === this.self || this.seeds.includes(peer)) return
    this.seeds.push(peer)
    if (this.seeds.length > MAX_SEEDS) this.seeds.shift()
  }

  private leave(now: number): void {
    if (this.leaving) return
    this.leaving = true
    this.probe = undefined
    const self = this.table.get(this.self)
    if (self !== undefined) this.table.set(self, 'left')
    const left: Update = { kind: 'left', peer: this.self, incarnation: this.incarnation }
    this.queue.push(left)
    // Said at once to a few members: the shell stops soon after.
    this.gossip(now)
  }

  /** A new incarnation of this agent's own record, stored before it is announced. */
  private bump(now: number, above = this.incarnation): void {
    this.incarnation = Math.max(this.incarnation, above) + 1
    this.out.push({ type: 'persist', incarnation: this.incarnation })
    const self = this.table.get(this.self)
    if (self !== undefined) {
      self.incarnation = this.incarnation
      if (this.meta !== undefined) self.meta = this.meta
      self.since = now
    }
    this.queue.push(this.selfAlive())
  }

  private selfAlive(): Update {
    return {
      kind: 'alive',
      peer: this.self,
      incarnation: this.incarnation,
      tenants: this.tenants,
      ...(this.meta !== undefined ? { meta: this.meta } : {})
    }
  }

  // --- timers ---------------------------------------------------------------------------------

  private scaled(ms: number): number {
    return ms * (this.awareness + 1)
  }

  private tick(now: number): void {
    const p = this.probe
    if (p !== undefined && !p.acked && !p.indirectSent && now >= p.indirectAt) this.askHelpers(p)
    if (p !== undefined && now >= p.endAt) this.finishProbe(p, now)
    if (!this.leaving && now >= this.nextProbeAt) {
      if (this.probe !== undefined) this.finishProbe(this.probe, now)
      this.startProbe(now)
      this.nextProbeAt = now + this.scaled(this.o.probeIntervalMs)
    }
    for (const [seq, r] of this.relays) {
      if (now >= r.nackAt) {
        this.relays.delete(seq)
        this.send(r.origin, { type: 'nack', seq: r.originSeq })
      }
    }
    if (this.bugs.suspectForever !== true) {
      for (const m of this.table.expire(now)) {
        this.apply({ kind: 'dead', peer: m.peer, incarnation: m.incarnation, from: this.self }, now)
      }
    }
    if (now >= this.nextGossipAt) {
      if (this.queue.size > 0) this.gossip(now)
      this.nextGossipAt = now + this.o.gossipIntervalMs
    }
    if (now >= this.nextPushPullAt) {
      // Alone (every sync lost, or every peer known gone): the seeds again.
      const peer = this.pick(this.table.live.size > 0 ? this.table.live.items : this.seeds)
      if (peer !== undefined && !this.leaving) this.sync(peer, false)
      // A seed not in the view (an island formed while syncs were lost): try it too.
      const seed = this.pick(this.seeds)
      if (seed !== undefined && seed !== peer) this.contact(seed, now)
      const n = this.table.liveCount()
      const regular = pushPullInterval(this.o.pushPullIntervalMs, n)
      this.pushPullBackoff = n === this.viewAtPushPull ? regular : Math.min(regular, this.pushPullBackoff * 2)
      this.viewAtPushPull = n
      this.nextPushPullAt = now + this.pushPullBackoff
    }
    if (now >= this.nextReconnectAt) {
      const peer = this.pick(this.table.dead.items)
      if (peer !== undefined && !this.leaving) this.sync(peer, false)
      this.nextReconnectAt = now + this.o.reconnectIntervalMs
    }
    if (now >= this.nextHousekeepingAt) {
      for (const change of this.table.forget(now, this.o.retentionMs)) this.emit(change)
      for (const [peer, at] of this.contacted) if (now - at >= this.o.contactIntervalMs) this.contacted.delete(peer)
      this.nextHousekeepingAt = now + HOUSEKEEPING_MS
    }
  }

  private nextWake(): number {
    if (!this.started) return Infinity
    let at = Math.min(
      this.nextPushPullAt,
      this.nextHousekeepingAt,
      this.bugs.suspectForever === true ? Infinity : this.table.nextDeadline()
    )
    if (!this.leaving) at = Math.min(at, this.nextProbeAt)
    if (this.queue.size > 0) at = Math.min(at, this.nextGossipAt)
    if (this.table.dead.size > 0) at = Math.min(at, this.nextReconnectAt)
    const p = this.probe
    if (p !== undefined) at = Math.min(at, p.endAt, !p.acked && !p.indirectSent ? p.indirectAt : Infinity)
    for (const r of this.relays.values()) at = Math.min(at, r.nackAt)
    return at
  }

  // --- probing --------------------------------------------------------------------------------

  /** The next member in a shuffled round-robin over the live ones (SWIM's probe order). */
  private nextTarget(): string | undefined {
    for (let tries = 0; tries < 2; tries++) {
      while (this.orderAt < this.order.length) {
        const peer = this.order[this.orderAt++] as string
        if (this.table.live.has(peer)) return peer
      }
      this.order = [...this.table.live.items]
      for (let i = this.order.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1))
        const t = this.order[i] as string
        this.order[i] = this.order[j] as string
        this.order[j] = t
      }
      this.orderAt = 0
    }
    return undefined
  }

  private startProbe(now: number): void {
    const target = this.nextTarget()
    if (target === undefined) return
    const seq = ++this.seq
    this.probe = {
      seq,
      target,
      indirectAt: now + this.scaled(this.o.probeTimeoutMs),
      endAt: now + this.scaled(this.o.probeIntervalMs),
      indirectSent: false,
      acked: false,
      expectedNacks: 0,
      nacks: 0
    }
    this.send(target, { type: 'ping', seq, target, updates: this.piggyback(target) })
  }

  private askHelpers(p: Probe): void {
    p.indirectSent = true
    const helpers = this.sample(
      this.table.live.items,
      this.o.indirectChecks,
      peer => peer !== p.target && this.table.get(peer)?.state === 'alive'
    )
    p.expectedNacks = helpers.length
    for (const h of helpers) {
      this.send(h, { type: 'ping-req', seq: p.seq, target: p.target, updates: this.piggyback(h) })
    }
  }

  private finishProbe(p: Probe, now: number): void {
    this.probe = undefined
    if (p.acked) {
      this.awareness = Math.max(0, this.awareness - 1)
      return
    }
    // Lifeguard: missing nacks mean this agent's own links (or its loop) are the trouble.
    const delta = p.expectedNacks > 0 ? Math.max(0, p.expectedNacks - p.nacks) : 1
    this.awareness = Math.min(this.o.awarenessMax - 1, this.awareness + delta)
    const m = this.table.get(p.target)
    if (m === undefined || !isLive(m)) return
    // Also when it is suspect already: this failed probe is an independent confirmation, which
    // shortens the suspicion everywhere (Lifeguard).
    this.apply({ kind: 'suspect', peer: m.peer, incarnation: m.incarnation, from: this.self }, now)
  }

  // --- messages -------------------------------------------------------------------------------

  private receive(from: string, msg: Wire, now: number): void {
    if ('updates' in msg) for (const u of msg.updates) this.apply(u, now)
    // A peer that knows this agent but is not known here: exchange views (at most once an interval).
    if (msg.type !== 'sync' && this.table.get(from) === undefined) this.contact(from, now)
    switch (msg.type) {
      case 'ping':
        if (msg.target !== this.self) return
        this.send(from, { type: 'ack', seq: msg.seq, updates: this.piggyback(from) })
        return
      case 'ack': {
        const relay = this.relays.get(msg.seq)
        if (relay !== undefined) {
          this.relays.delete(msg.seq)
          this.send(relay.origin, { type: 'ack', seq: relay.originSeq, updates: this.piggyback(relay.origin) })
          return
        }
        if (this.probe !== undefined && this.probe.seq === msg.seq) this.probe.acked = true
        return
      }
      case 'ping-req': {
        if (this.leaving) return
        const seq = ++this.seq
        // The nack must reach the asker before its own probe ends: at 80% of the timeout.
        this.relays.set(seq, {
          origin: from,
          originSeq: msg.seq,
          nackAt: now + Math.floor(this.o.probeTimeoutMs * 0.8)
        })
        this.send(msg.target, { type: 'ping', seq, target: msg.target, updates: this.piggyback(msg.target) })
        return
      }
      case 'nack':
        if (this.probe !== undefined && this.probe.seq === msg.seq) this.probe.nacks++
        return
      case 'gossip':
        return
      case 'sync':
        for (const e of msg.members) this.merge(from, e, now)
        if (!msg.reply && !this.leaving) this.sync(from, true, msg.tenants)
    }
  }

  /**
   * One member of a peer's sync, taken as news; a death it reports is only a suspicion here. What
   * a sync teaches is passed on only when others need it from this agent: the sender's own record
   * (a newcomer), and suspicions (their subjects must hear them to refute). The rest the others
   * learn from their own syncs: passing on a newcomer's whole view would cost every agent a
   * round of gossip per member.
   */
  private merge(from: string, e: SyncEntry, now: number): void {
    const alive: Update = {
      kind: 'alive',
      peer: e.peer,
      incarnation: e.incarnation,
      tenants: e.tenants,
      ...(e.meta !== undefined ? { meta: e.meta } : {})
    }
    switch (e.state) {
      case 'alive':
        this.apply(alive, now, e.peer === from)
        break
      case 'left':
        this.apply({ kind: 'left', peer: e.peer, incarnation: e.incarnation }, now, false)
        break
      default:
        // Also makes the member known, so that its refutation is taken.
        if (this.table.get(e.peer) === undefined) this.apply(alive, now, false)
        this.apply({ kind: 'suspect', peer: e.peer, incarnation: e.incarnation, from }, now)
    }
  }

  /** Apply one piece of news (`spread`: pass it on if it was new); about this agent itself, refute what is false. */
  private apply(u: Update, now: number, spread = true): void {
    if (u.peer === this.self) {
      if (this.leaving) return
      const stale = u.incarnation < this.incarnation
      if (this.bugs.noRefutation === true && u.kind !== 'alive') return
      if (u.kind === 'alive' ? u.incarnation > this.incarnation : !stale) {
        if (u.kind !== 'alive') this.awareness = Math.min(this.o.awarenessMax - 1, this.awareness + 1)
        this.bump(now, u.incarnation)
      } else if (u.kind !== 'alive') {
        // Someone still holds an older incarnation against this agent (it missed the refutation):
        // the current one goes out again, first thing in the reply to it.
        this.queue.push(this.selfAlive())
      }
      return
    }
    const n = this.table.liveCount()
    const applied =
      u.kind === 'alive'
        ? this.table.alive(u, now)
        : u.kind === 'suspect'
          ? this.table.suspect(
              u,
              now,
              suspicionBounds(this.o.suspicionMult, this.o.suspicionMaxTimeoutMult, n, this.o.probeIntervalMs),
              n - 2 < this.o.indirectChecks ? 0 : this.o.indirectChecks
            )
          : this.table.down(u, now)
    if (applied.change !== undefined) {
      this.emit(applied.change)
      if (applied.change.reason === 'joined' && this.order.length > 0) {
        // A newcomer gets probed within a round, not after the next shuffle.
        this.order.splice(this.orderAt + Math.floor(this.random() * (this.order.length - this.orderAt + 1)), 0, u.peer)
      }
    }
    if (applied.spread && spread) this.queue.push(u)
  }

  // --- dissemination --------------------------------------------------------------------------

  /** The updates `to` may see: about members it shares a tenant with, alive ones narrowed to those tenants. */
  private relevant(u: Update, to: string): Update | undefined {
    if (u.peer === to) return u
    const target = this.table.get(to)
    if (target === undefined) return u.peer === this.self ? u : undefined
    const about = u.peer === this.self ? this.tenants : this.table.get(u.peer)?.tenants
    if (about === undefined) return undefined
    const shared = about.filter(t => target.tenants.includes(t))
    if (shared.length === 0) return undefined
    return u.kind === 'alive' ? { ...u, tenants: shared } : u
  }

  /**
   * The news for one message to `to`. Lifeguard's buddy system: a member this agent holds suspect
   * is told so in every message it gets from here, whatever the queue has left, so that it
   * refutes even when the gossip about it missed it.
   */
  private piggyback(to: string): Update[] {
    const updates = this.queue.take(
      this.o.maxUpdatesPerMessage,
      retransmitLimit(this.o.retransmitMult, this.table.liveCount()),
      u => this.relevant(u, to)
    )
    const m = this.table.get(to)
    if (m?.state === 'suspect' && !updates.some(u => u.peer === to)) {
      updates.unshift({ kind: 'suspect', peer: to, incarnation: m.incarnation, from: this.self })
    }
    return updates
  }

  /** Queued news to a few live members, and to members dead lately (they may only be cut off). */
  private gossip(now: number): void {
    const targets = this.sample(this.table.live.items, this.o.gossipNodes, () => true)
    const lately = this.sample(
      this.table.dead.items,
      1,
      peer => now - (this.table.get(peer)?.since ?? -Infinity) < this.o.gossipToTheDeadMs
    )
    for (const to of [...targets, ...lately]) {
      const updates = this.piggyback(to)
      if (updates.length > 0) this.send(to, { type: 'gossip', updates })
    }
  }

  /** Push-pull: this agent's view of the members it shares a tenant with `to`. */
  private sync(to: string, reply: boolean, theirs?: string[]): void {
    const tenants = theirs ?? this.table.get(to)?.tenants ?? []
    const members: SyncEntry[] = []
    for (const m of this.table.members.values()) {
      const shared = m.peer === this.self ? this.tenants : m.tenants.filter(t => tenants.includes(t))
      if (shared.length === 0) continue
      members.push({
        peer: m.peer,
        incarnation: m.incarnation,
        state: m.peer === this.self && !this.leaving ? 'alive' : m.state,
        tenants: shared,
        ...(m.meta !== undefined ? { meta: m.meta } : {})
      })
    }
    this.send(to, { type: 'sync', reply, tenants: this.tenants, members })
  }

  /** A peer discovery found: exchange views unless it is a live member already, at most once an interval. */
  private contact(peer: string, now: number): void {
    if (peer === this.self || this.leaving) return
    const m = this.table.get(peer)
    if (m !== undefined && isLive(m)) return
    const last = this.contacted.get(peer)
    if (last !== undefined && now - last < this.o.contactIntervalMs) return
    this.contacted.set(peer, now)
    this.sync(peer, false)
  }

  // --- helpers --------------------------------------------------------------------------------

  private send(to: string, message: Wire): void {
    this.out.push({ type: 'send', to, message })
  }

  private emit(change: MemberChange): void {
    this.out.push({ type: 'change', change })
  }

  private pick(items: readonly string[]): string | undefined {
    return items.length === 0 ? undefined : items[Math.floor(this.random() * items.length)]
  }

  /** Up to `k` distinct random items that pass `ok` (a partial shuffle, bounded tries). */
  private sample(items: readonly string[], k: number, ok: (x: string) => boolean): string[] {
    const out = new Set<string>()
    for (let tries = 0; out.size < k && tries < k * 4 && items.length > 0; tries++) {
      const x = items[Math.floor(this.random() * items.length)] as string
      if (ok(x)) out.add(x)
    }
    return [...out]
  }
}
