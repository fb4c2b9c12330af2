import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, IncomingStreamData, Libp2p, PeerId, PrivateKey, PubSub, Startable } from '@libp2p/interface'
import type { ProbePings } from '../node/index.js'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { lpStream } from 'it-length-prefixed-stream'
import { silentLogger, type Logger } from '../logger/index.js'
import {
  grantsRole,
  parseTopic,
  topicFor,
  type Credential,
  type StateChange,
  type Tenancy,
  type TenancyRecorder,
  type TenantChannel,
  type TenantMessage,
  type TenantState,
  type Verdict
} from '../tenancy/index.js'
import { VERSION } from '../version.js'
import * as C from './constants.js'
import {
  decodeJson,
  encodeJson,
  presenceMessageSchema,
  syncMessageSchema,
  type PresenceMessage,
  type SyncMessage,
  type SyncSnapshot
} from './messages.js'
import { openRecord, recordRef, signRecord, type PresenceRecord, type SignedRecord } from './record.js'
import { pushPullInterval } from './core/options.js'
import { Prober } from './prober.js'
import { MembershipView, type Member, type MemberChange } from './view.js'
import { ProtocolError } from '../util/errors.js'
import { everyTick, type Ticking } from '../util/ticker.js'

export interface MembershipInit {
  /**
   * Name announced to peers.
   *
   * @default the peer id
   */
  name?: string
  /**
   * Roles announced to peers.
   *
   * @default []
   */
  roles?: string[]
  /**
   * Base heartbeat interval. The interval actually used is stretched so that the tenant as a
   * whole publishes about `heartbeatBudget` heartbeats per second (see docs/concepts/membership.md).
   *
   * @default 1000
   */
  heartbeatMs?: number
  /**
   * Heartbeats per second the whole tenant publishes: each agent receives about that many,
   * whatever the mesh size. Heartbeats are a backstop; probes detect failures, and changes are
   * announced when they happen.
   *
   * @default 0.02
   */
  heartbeatBudget?: number
  /**
   * One connected member is pinged this often (SWIM's protocol period). 0: no rounds; members
   * are probed only when their connection drops or their heartbeats are overdue.
   *
   * @default 1000
   */
  probeIntervalMs?: number
  /**
   * Members asked to ping a peer that did not answer a direct ping, before it is suspected.
   *
   * @default 3
   */
  indirectProbes?: number
  /**
   * Missed heartbeat intervals before a member is probed and, if the probe fails, suspect.
   *
   * @default 3
   */
  suspectMissed?: number
  /**
   * Time a suspect has to refute before it is declared dead.
   *
   * @default 5000
   */
  deadAfterMs?: number
  /**
   * Timeout of a probe's ping, direct or through another member.
   *
   * @default 1000
   */
  pingTimeoutMs?: number
  /**
   * How long dead and left members stay in the view.
   *
   * @default 600000
   */
  retentionMs?: number
  /**
   * Push-pull sync with one random connected peer this often, stretched past 32 members.
   *
   * @default 30000
   */
  syncIntervalMs?: number
  /**
   * Structured logger.
   *
   * @default silent
   */
  logger?: Logger
  /**
   * Counts gossip traffic and rejections (the metrics module provides one).
   *
   * @default no-op
   */
  recorder?: GossipRecorder
}

/** Where membership reports traffic; implemented by the metrics module. */
export type GossipRecorder = TenancyRecorder

/** The parts of a libp2p node membership uses. */
export interface MembershipComponents {
  node: Pick<
    Libp2p,
    | 'peerId'
    | 'handle'
    | 'unhandle'
    | 'dialProtocol'
    | 'getConnections'
    | 'getMultiaddrs'
    | 'addEventListener'
    | 'removeEventListener'
  >
  privateKey: PrivateKey
  pubsub: PubSub
  /** The tenants this agent belongs to: presence runs on each one's `presence` channel. */
  tenancy: Tenancy
  /** Membership's pings (the node's `probes` service). */
  ping: Pick<ProbePings, 'ping'>
  /** Called with a member's addresses when it joins, so the node can dial it. */
  learnPeer?: (peerId: PeerId, addrs: Multiaddr[]) => void
  /**
   * Whether the connection with a peer was closed on purpose lately (a released bootstrap seed):
   * its loss is then no reason to probe the peer.
   */
  releasedOnPurpose?: (peerId: string) => boolean
}

/** A member announcing some roles: what councils form from without waiting for claims. */
export interface RoleHolder {
  peerId: string
  name: string
  roles: string[]
}

export interface PeerView {
  peerId: string
  name: string
  roles: string[]
  tenant: string
  state: Member['state']
  lastSeenMs: number
  addrs: string[]
  version: string
  incarnation: number
}

/**
 * A sync exchange, both ways: per tenant, a snapshot of the view, the sender's credential (the
 * other side only shares a tenant's view with a peer that proves membership) and the latest
 * tenant state (so rotations and revocations reach agents that missed their gossip).
 */

/**
 * The heartbeat interval of one member of a tenant of `size` members: stretched so that the
 * tenant as a whole publishes `budget` heartbeats a second, never below `baseMs`, and never above
 * `MAX_HEARTBEAT_MS` (which the wire schema accepts).
 */
export function heartbeatIntervalMs(size: number, baseMs: number, budget: number): number {
  const stretched = Math.ceil((size * 1000) / budget)
  return Math.min(Math.max(baseMs, stretched), Math.max(baseMs, C.MAX_HEARTBEAT_MS))
}

const noopRecorder: GossipRecorder = { messageIn() {}, messageOut() {}, rejected() {} }

export class Membership implements Startable {
  private readonly components: MembershipComponents
  private readonly log: Logger
  private readonly recorder: GossipRecorder
  private readonly tenants: string[]
  private readonly channels = new Map<string, TenantChannel>()
  private readonly name: string
  private readonly roles: string[]
  private readonly heartbeatMs: number
  private readonly heartbeatBudget: number
  private readonly syncIntervalMs: number
  private readonly probeIntervalMs: number
  private readonly view: MembershipView
  private readonly prober: Prober
  private readonly listeners = new Set<(change: MemberChange) => void>()
  private readonly own = new Map<string, { record: PresenceRecord; signed: SignedRecord }>()
  private readonly heartbeatTimers = new Map<string, ReturnType<typeof setTimeout>>()
  /** Per tenant: the record last announced, full announcements still owed, beats since the last. */
  private readonly announced = new Map<string, { sig: string; fullLeft: number; beats: number }>()
  private lastRecordSync = 0
  /** Tenants whose last heartbeat reached no peer: the next new subscriber triggers one. */
  private readonly unheard = new Set<string>()
  private readonly probing = new Set<string>()
  /** Timers of repeated probes of members that did not answer. */
  private readonly retries = new Set<ReturnType<typeof setTimeout>>()
  /** Probes in a row each member did not answer (see `PROBE_ATTEMPTS`). */
  private readonly unanswered = new Map<string, number>()
  /** When this agent last pinged each member over stale news of its failure (see `recheckStale`). */
  private readonly rechecked = new Map<string, number>()
  /** When each peer last delivered gossip to this agent (see `RELAY_EVIDENCE_MS`). */
  private readonly relayed = new Map<string, number>()
  private unsubscribeRelay?: () => void
  /** Records whose signature was checked, by their exact bytes: heartbeats repeat them. */
  private readonly verifiedRecords = new Map<string, { sig: string; record: PresenceRecord }>()
  private incarnation = 0
  private seq = 0
  private syncs = 0
  /** Set once the agent announced its leave: it refutes nothing after that. */
  private leaving = false
  private ticking?: Ticking
  private unsubscribeState?: () => void
  private syncTimer?: ReturnType<typeof setTimeout>
  /** The round of the sync scheduled next, and when it is due. */
  private syncRound = 0
  private syncDue = 0
  private started = false

  constructor(components: MembershipComponents, init: MembershipInit = {}) {
    this.components = components
    this.log = (init.logger ?? silentLogger()).child({ component: 'membership' })
    this.recorder = init.recorder ?? noopRecorder
    this.tenants = components.tenancy.tenants
    this.name = init.name ?? components.node.peerId.toString()
    this.roles = init.roles ?? []
    this.heartbeatMs = init.heartbeatMs ?? C.DEFAULT_HEARTBEAT_MS
    this.heartbeatBudget = init.heartbeatBudget ?? C.DEFAULT_HEARTBEAT_BUDGET
    this.syncIntervalMs = init.syncIntervalMs ?? C.SYNC_INTERVAL_MS
    this.probeIntervalMs = init.probeIntervalMs ?? C.DEFAULT_PROBE_INTERVAL_MS
    this.view = new MembershipView({
      suspectMissed: init.suspectMissed ?? C.DEFAULT_SUSPECT_MISSED,
      deadAfterMs: init.deadAfterMs ?? C.DEFAULT_DEAD_AFTER_MS,
      retentionMs: init.retentionMs ?? C.RETENTION_MS
    })
    this.prober = new Prober(
      {
        node: components.node,
        ping: components.ping,
        neighbours: () => this.probeTurns(),
        helpers: target => this.neighbours().filter(p => p !== target && this.sharesTenant(p, target, true)),
        mayProbeFor: (requester, target) => this.sharesTenant(requester, target, false),
        // A helper vouches as the prober itself does.
        recentlyHeard: peerId => this.vouchedByRelay(peerId),
        onTurn: peerId => {
          void this.probe(peerId, 'probe-round')
        }
      },
      {
        probeIntervalMs: this.probeIntervalMs,
        pingTimeoutMs: init.pingTimeoutMs ?? C.DEFAULT_PING_TIMEOUT_MS,
        indirectProbes: init.indirectProbes ?? C.DEFAULT_INDIRECT_PROBES,
        logger: this.log
      }
    )
  }

  readonly [Symbol.toStringTag] = 'conclave:membership'

  /** Membership's own traffic since start: pings sent (probes), syncs started. */
  get traffic(): { pings: number; syncs: number } {
    return { pings: this.prober.pings, syncs: this.syncs }
  }

  get peerId(): string {
    return this.components.node.peerId.toString()
  }

  /** The tenant topics presence travels on, one per tenant. */
  get topics(): string[] {
    return this.tenants.map(t => topicFor(t))
  }

  /** Listen to every state change of every member; returns a function that unsubscribes. */
  onChange(listener: (change: MemberChange) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Every member of this agent's tenants, as the API shows them. */
  peers(now = Date.now()): PeerView[] {
    return this.view.members().map(({ tenant, member: m }) => ({
      peerId: m.record.peerId,
      name: m.record.name,
      roles: m.record.roles,
      tenant,
      state: m.state,
      lastSeenMs: Math.max(0, now - m.lastSeen),
      addrs: m.record.addrs,
      version: m.record.version,
      incarnation: m.record.incarnation
    }))
  }

  /** State of one member of `tenant` in this agent's view (undefined: never heard of). */
  stateOf(tenant: string, peerId: string): Member['state'] | undefined {
    return this.view.get(tenant, peerId)?.state
  }

  /**
   * Members of `tenant`, alive or suspect, whose record announces any of `roles`, with the ones it
   * announces. A record's roles were checked against its credential when it was accepted.
   */
  withRoles(tenant: string, roles: string[]): RoleHolder[] {
    const out: RoleHolder[] = []
    for (const { member: m } of this.view.members(tenant)) {
      if (m.state !== 'alive' && m.state !== 'suspect') continue
      const announced = m.record.roles.filter(r => roles.includes(r))
      if (announced.length > 0) out.push({ peerId: m.record.peerId, name: m.record.name, roles: announced })
    }
    return out
  }

  /** Members of `tenant` in `state`. */
  count(tenant: string, state: Member['state']): number {
    return this.view.count(tenant, state)
  }

  get tenantIds(): string[] {
    return [...this.tenants]
  }

  /** Members alive in this agent's view, over all its tenants. */
  private aliveCount(): number {
    let n = 0
    for (const t of this.tenants) n += this.view.count(t, 'alive')
    return n
  }

  /** Live members of `tenant` (alive or suspect), this agent included. */
  private sizeOf(tenant: string): number {
    return this.view.count(tenant, 'alive') + this.view.count(tenant, 'suspect') + 1
  }

  /** Members of this agent's largest tenant, itself included. */
  private largestTenant(): number {
    return Math.max(1, ...this.tenants.map(t => this.sizeOf(t)))
  }

  /** Current heartbeat interval for a tenant: stretched with its size to stay within the budget. */
  intervalFor(tenant: string): number {
    return heartbeatIntervalMs(this.sizeOf(tenant), this.heartbeatMs, this.heartbeatBudget)
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    this.incarnation = Date.now()
    const { node, pubsub, tenancy } = this.components
    for (const tenant of this.tenants) {
      this.channels.set(
        tenant,
        tenancy.join(tenant, C.PRESENCE_CHANNEL, async msg => await this.onPresence(msg), {
          maxBytes: C.MAX_PRESENCE_BYTES
        })
      )
    }
    this.unsubscribeState = tenancy.onStateChange(this.onStateChange)
    this.unsubscribeRelay = tenancy.onRelay(peerId => {
      this.relayed.set(peerId, Date.now())
    })
    pubsub.addEventListener('subscription-change', this.onSubscriptionChange)
    await node.handle(C.SYNC_PROTOCOL, this.onSyncStream, { runOnLimitedConnection: false })
    node.addEventListener('peer:identify', this.onIdentify)
    node.addEventListener('peer:disconnect', this.onDisconnect)
    await this.prober.start()
    const tickMs = Math.max(20, Math.min(250, Math.floor(this.heartbeatMs / 4)))
    this.ticking = everyTick(tickMs, () => {
      this.tick()
    })
    this.scheduleSync(0)
    for (const tenant of this.tenants) void this.heartbeat(tenant)
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    this.ticking?.stop()
    clearTimeout(this.syncTimer)
    for (const timer of this.heartbeatTimers.values()) clearTimeout(timer)
    this.heartbeatTimers.clear()
    for (const timer of this.retries) clearTimeout(timer)
    this.retries.clear()
    this.unanswered.clear()
    const { node, pubsub } = this.components
    node.removeEventListener('peer:identify', this.onIdentify)
    node.removeEventListener('peer:disconnect', this.onDisconnect)
    pubsub.removeEventListener('subscription-change', this.onSubscriptionChange)
    await this.prober.stop()
    await node.unhandle(C.SYNC_PROTOCOL)
    this.unsubscribeState?.()
    this.unsubscribeRelay?.()
    this.relayed.clear()
    this.rechecked.clear()
    for (const channel of this.channels.values()) this.components.tenancy.leave(channel)
    this.channels.clear()
  }

  /**
   * Announce a graceful leave in every tenant. Peers mark this agent `left` at once instead of
   * suspecting it. Resolves once the messages were handed to the connected peers.
   */
  async leave(): Promise<void> {
    this.leaving = true
    const sends = this.tenants.map(async tenant => {
      await this.publish(tenant, { type: 'leave', peerId: this.peerId, incarnation: this.incarnation })
    })
    await Promise.allSettled(sends)
  }

  // --- outgoing -------------------------------------------------------------------------------

  /** Publish on the tenant's presence topic; resolves to the number of peers it was sent to. */
  private async publish(tenant: string, message: PresenceMessage): Promise<number> {
    try {
      const channel = this.channels.get(tenant)
      if (channel === undefined) return 0
      return await channel.publish(encodeJson(message))
    } catch (err) {
      this.log.debug({ tenant, type: message.type, err: (err as Error).message }, 'presence publish failed')
      return 0
    }
  }

  /** This agent's record for `tenant`, re-signed only when something in it changed. */
  private async ownRecord(tenant: string): Promise<SignedRecord> {
    const addrs = this.components.node.getMultiaddrs().map(a => a.decapsulateCode(421).toString())
    const record: PresenceRecord = {
      v: 1,
      peerId: this.peerId,
      name: this.name,
      roles: this.roles,
      tenant,
      addrs: [...new Set(addrs)].slice(0, C.MAX_RECORD_ADDRS),
      version: VERSION,
      incarnation: this.incarnation
    }
    const credential = this.components.tenancy.keyring(tenant)?.credential
    if (credential !== undefined) record.cred = credential
    const current = this.own.get(tenant)
    if (current !== undefined && JSON.stringify(current.record) === JSON.stringify(record)) return current.signed
    const signed = await signRecord(record, this.components.privateKey)
    this.own.set(tenant, { record, signed })
    return signed
  }

  private async heartbeat(tenant: string): Promise<void> {
    if (!this.started) return
    clearTimeout(this.heartbeatTimers.get(tenant))
    const signed = await this.ownRecord(tenant)
    const full = this.fullRecordDue(tenant, signed)
    // A new record (a start, a refutation) is news: it is announced `FULL_RECORD_AFTER_CHANGE`
    // times at the base interval, so that it spreads like SWIM's piggybacked updates, not at the
    // stretched pace of the backstop. The interval promised stays the stretched one: an upper
    // bound (promising the short gap made every delayed repeat look like silence under load).
    const intervalMs = this.intervalFor(tenant)
    const nextMs = (this.announced.get(tenant)?.fullLeft ?? 0) > 0 ? Math.min(this.heartbeatMs, intervalMs) : intervalMs
    const seq = ++this.seq
    const recipients = await this.publish(
      tenant,
      full
        ? { type: 'alive', ...signed, seq, intervalMs }
        : { type: 'beat', incarnation: this.incarnation, ref: recordRef(signed), seq, intervalMs }
    )
    if (recipients === 0) {
      this.unheard.add(tenant)
      // Nobody heard this one: the record is owed again.
      this.announced.delete(tenant)
    } else {
      this.unheard.delete(tenant)
    }
    if (!this.started) return
    const jitter = 1 + (Math.random() * 2 - 1) * C.HEARTBEAT_JITTER
    const timer = setTimeout(
      () => {
        void this.heartbeat(tenant)
      },
      Math.round(nextMs * jitter)
    )
    timer.unref()
    this.heartbeatTimers.set(tenant, timer)
  }

  /** Whether this heartbeat must carry the full record (see `FULL_RECORD_EVERY`). */
  private fullRecordDue(tenant: string, signed: SignedRecord): boolean {
    let state = this.announced.get(tenant)
    if (state === undefined || state.sig !== signed.sig) {
      state = { sig: signed.sig, fullLeft: C.FULL_RECORD_AFTER_CHANGE, beats: 0 }
      this.announced.set(tenant, state)
    }
    if (state.fullLeft > 0 || state.beats >= C.FULL_RECORD_EVERY - 1) {
      state.fullLeft = Math.max(0, state.fullLeft - 1)
      state.beats = 0
      return true
    }
    state.beats++
    return false
  }

  /**
   * A peer subscribed to a presence topic. If our last heartbeat there reached nobody (we just
   * started, or were alone), announce now instead of waiting a whole interval.
   */
  private announceIfUnheard(tenant: string): void {
    if (this.unheard.delete(tenant)) void this.heartbeat(tenant)
  }

  // --- incoming gossip ------------------------------------------------------------------------

  private readonly onSubscriptionChange = (
    evt: CustomEvent<{ peerId: PeerId; subscriptions: Array<{ topic: string; subscribe: boolean }> }>
  ): void => {
    for (const sub of evt.detail.subscriptions) {
      if (!sub.subscribe) continue
      const parsed = parseTopic(sub.topic)
      if (parsed !== undefined && this.tenants.includes(parsed.tenant)) {
        this.announceIfUnheard(parsed.tenant)
      }
    }
  }

  private rejectSync(reason: string, from: string): void {
    this.recorder.rejected('sync', reason)
    this.log.debug({ from, reason }, 'sync content rejected')
  }

  /**
   * Presence messages, already authenticated and decrypted by tenancy: decode, check that the
   * record is the sender's own and admitted by its credential, and apply it to the view.
   */
  private readonly onPresence = async (msg: TenantMessage): Promise<Verdict> => {
    const message = decodeJson(msg.payload, presenceMessageSchema)
    if (message === undefined) return { reject: 'malformed' }
    return await this.handle(msg, message)
  }

  private async handle(msg: TenantMessage, message: PresenceMessage): Promise<Verdict> {
    const { tenant, from } = msg
    switch (message.type) {
      case 'alive':
        return await this.onAlive(tenant, msg, message)
      case 'beat':
        return this.onBeat(tenant, msg.from, message)
      case 'suspect':
        return this.onSuspect(tenant, message)
      case 'leave': {
        if (message.peerId !== from) return { reject: 'sender-mismatch' }
        this.emit(this.view.leave(tenant, from, message.incarnation, Date.now()))
        return 'accept'
      }
    }
  }

  private async onAlive(
    tenant: string,
    sender: TenantMessage,
    message: Extract<PresenceMessage, { type: 'alive' }>
  ): Promise<Verdict> {
    const from = sender.from
    const record = await this.admitted(tenant, message, sender)
    if (typeof record === 'string') return { reject: record }
    const known = this.view.get(tenant, from)
    // A replay or an older heartbeat: dropped without penalty (gossip may deliver it late).
    if (known !== undefined && this.view.isStale(known, record.incarnation, message.seq)) return 'ignore'
    this.apply(record, message, { now: Date.now(), seq: message.seq, intervalMs: message.intervalMs })
    return 'accept'
  }

  /**
   * A heartbeat that refers to the sender's record instead of carrying it. Applied like an
   * `alive` with that record when the view holds it; otherwise the record is fetched by a sync.
   * The beat is still relayed then: tenancy authenticated its sender, and the peers beyond may
   * hold the record.
   */
  private onBeat(tenant: string, from: string, message: Extract<PresenceMessage, { type: 'beat' }>): Verdict {
    const known = this.view.get(tenant, from)
    if (known !== undefined && this.view.isStale(known, message.incarnation, message.seq)) return 'ignore'
    if (
      known === undefined ||
      known.record.incarnation !== message.incarnation ||
      recordRef(known.signed) !== message.ref
    ) {
      this.fetchRecord(from)
      return 'accept'
    }
    this.apply(known.record, known.signed, { now: Date.now(), seq: message.seq, intervalMs: message.intervalMs })
    return 'accept'
  }

  /** Sync with `peerId` if connected (it holds its own record), else with a random peer. */
  private fetchRecord(peerId: string): void {
    const now = Date.now()
    if (now - this.lastRecordSync < C.MISSING_RECORD_SYNC_MS) return
    this.lastRecordSync = now
    const connected = this.connectedTo(peerId)
    void (connected ? this.sync(peerIdFromString(peerId)) : this.syncWithRandomPeer())
  }

  /**
   * A signed record of `tenant`, verified, and admitted by its subject's credential (bound to
   * it, valid, not revoked, granting the roles it announces). Records travel through third
   * parties in syncs, so each carries its own credential.
   */
  private async admitted(
    tenant: string,
    signed: SignedRecord,
    sender?: TenantMessage
  ): Promise<PresenceRecord | string> {
    const record = await this.verified(signed)
    if (typeof record === 'string') return record
    if (record.tenant !== tenant) return 'tenant-mismatch'
    const ring = this.components.tenancy.keyring(tenant)
    if (ring?.authenticated !== true) return record
    if (sender !== undefined) {
      // A heartbeat: tenancy already admitted the sender's credential; only its own record
      // is accepted, and the roles it announces must be granted by that credential.
      if (record.peerId !== sender.from) return 'sender-mismatch'
      const claims = sender.claims
      return claims !== undefined && record.roles.every(role => grantsRole(claims, role)) ? record : 'role-not-granted'
    }
    const checked = await ring.check(
      record.peerId,
      record.cred !== undefined ? { credential: record.cred } : {},
      record.roles
    )
    return typeof checked === 'string' ? (checked === 'unknown-credential' ? 'no-credential' : checked) : record
  }

  private onSuspect(tenant: string, message: Extract<PresenceMessage, { type: 'suspect' }>): Verdict {
    if (message.peerId === this.peerId) {
      // SWIM refutation: outlive the suspicion with a higher incarnation, announced at once.
      if (message.incarnation >= this.incarnation) {
        // Lifeguard: an agent others found unresponsive is likely slow itself, so it judges
        // others more patiently for a while.
        this.prober.doubt()
        this.refute(message.incarnation, 'suspicion')
      }
      return 'accept'
    }
    // No probe of our own here: the suspect hears the rumour too and refutes it. Measured at 34
    // agents, every receiver probing turned one slow ping into a cascade of fresh suspicions.
    const change = this.view.suspect(tenant, message.peerId, message.incarnation, Date.now(), 'suspected-by-peer')
    if (change === undefined) this.recheckStale(tenant, message.peerId, message.incarnation, 'stale-suspicion', true)
    this.emit(change)
    return 'accept'
  }

  /**
   * Outlive news of this agent's failure at `incarnation`: a higher incarnation, announced at once
   * in every tenant (the record of each carries it; a tenant left at the old one could still take
   * a suspicion at that one for true).
   */
  private refute(incarnation: number, news: string): void {
    if (incarnation < this.incarnation || this.leaving) return
    this.incarnation = incarnation + 1
    this.log.info({ incarnation: this.incarnation, news }, "refuting news of this agent's failure")
    for (const t of this.tenants) void this.heartbeat(t)
  }

  /**
   * News of a failure (a suspicion, or a sync's down list) older than the incarnation this agent
   * holds alive, of a member it cannot watch itself (no connection): ping it, at most once per
   * `STALE_SUSPICION_RECHECK_MS`, and act only on an answer or a refused connection. The
   * refutation this agent got may have crossed a partition as it formed (see the constant).
   * `thin`: for news every agent gets at once (gossip), each takes it up with a chance that keeps
   * the pings per piece of news near `STALE_RECHECKERS`. True when a ping was started.
   */
  private recheckStale(tenant: string, peerId: string, incarnation: number, reason: string, thin = false): boolean {
    const m = this.view.get(tenant, peerId)
    if (m === undefined || m.state !== 'alive' || incarnation >= m.record.incarnation || this.connectedTo(peerId)) {
      return false
    }
    if (thin && Math.random() * this.view.count(tenant, 'alive') > C.STALE_RECHECKERS) return false
    const now = Date.now()
    if (now - (this.rechecked.get(peerId) ?? -Infinity) < C.STALE_SUSPICION_RECHECK_MS) return false
    this.rechecked.set(peerId, now)
    void this.probe(peerId, reason, true)
    return true
  }

  /** Decode and verify a signed record, skipping the signature check for bytes already verified. */
  private async verified(signed: SignedRecord): Promise<PresenceRecord | 'malformed' | 'bad-signature'> {
    const hit = this.verifiedRecords.get(signed.record)
    if (hit !== undefined && hit.sig === signed.sig) return hit.record
    const record = await openRecord({ record: signed.record, sig: signed.sig })
    if (typeof record !== 'string') {
      if (this.verifiedRecords.size >= C.VERIFIED_CACHE_SIZE) this.verifiedRecords.clear()
      this.verifiedRecords.set(signed.record, { sig: signed.sig, record })
    }
    return record
  }

  private apply(
    record: PresenceRecord,
    signed: SignedRecord,
    sighting: { now: number; seq?: number; intervalMs: number; ageMs?: number }
  ): void {
    const before = this.view.get(record.tenant, record.peerId)
    const addrsBefore = before?.record.addrs.join(',')
    const change = this.view.heard(record, { record: signed.record, sig: signed.sig }, sighting)
    this.emit(change)
    if (before === undefined || addrsBefore !== record.addrs.join(',') || change?.reason === 'rejoined') {
      if (this.view.get(record.tenant, record.peerId) !== undefined) this.learn(record)
    }
  }

  private learn(record: PresenceRecord): void {
    if (this.components.learnPeer === undefined) return
    try {
      const addrs = record.addrs.flatMap(a => {
        try {
          return [multiaddr(a)]
        } catch {
          return []
        }
      })
      this.components.learnPeer(peerIdFromString(record.peerId), addrs)
    } catch (err) {
      this.log.debug({ peer: record.peerId, err: (err as Error).message }, 'could not hand peer to the dialer')
    }
  }

  private emit(change: MemberChange | undefined): void {
    if (change === undefined) return
    const level = change.state === 'alive' && change.reason === 'joined' ? 'debug' : 'info'
    this.log[level](
      {
        tenant: change.tenant,
        peer: change.peerId,
        name: change.member.record.name,
        from: change.previous,
        to: change.state,
        reason: change.reason
      },
      'member state changed'
    )
    for (const listener of this.listeners) {
      try {
        listener(change)
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'membership listener failed')
      }
    }
  }

  // --- failure detection ---------------------------------------------------------------------

  private tick(): void {
    const now = Date.now()
    for (const { member } of this.view.overdue(now)) void this.probe(member.record.peerId, 'missed-heartbeats')
    for (const change of this.view.expire(now)) this.emit(change)
    for (const [peerId, at] of this.relayed) if (now - at > C.RELAY_EVIDENCE_MS) this.relayed.delete(peerId)
    for (const [peerId, at] of this.rechecked) {
      if (now - at >= C.STALE_SUSPICION_RECHECK_MS) this.rechecked.delete(peerId)
    }
  }

  private connectedTo(peerId: string): boolean {
    return this.components.node.getConnections().some(c => c.remotePeer.toString() === peerId)
  }

  /**
   * Whether `peerId` relayed gossip to this agent within `RELAY_EVIDENCE_MS` over a connection
   * that still stands: a crashed process relayed until it crashed, so once its connection is gone
   * a probe of it that timed out (instead of being refused) counts.
   */
  private vouchedByRelay(peerId: string): boolean {
    return this.relayedWithin(peerId, C.RELAY_EVIDENCE_MS) && this.connectedTo(peerId)
  }

  private relayedWithin(peerId: string, ms: number): boolean {
    return Date.now() - (this.relayed.get(peerId) ?? -Infinity) <= ms
  }

  /** Whether `peerId` is alive or suspect in any of this agent's tenants. */
  private isLive(peerId: string, tenant?: string): boolean {
    return (tenant !== undefined ? [tenant] : this.tenants).some(t => {
      const state = this.view.get(t, peerId)?.state
      return state === 'alive' || state === 'suspect'
    })
  }

  /** Connected peers that are live members of a tenant of this agent. */
  private neighbours(): string[] {
    return this.connected().filter(p => this.isLive(p))
  }

  private connected(): string[] {
    return [...new Set(this.components.node.getConnections().map(c => c.remotePeer.toString()))]
  }

  /**
   * Whom the prober takes turns on: connected members, also ones this view holds dead (an answer
   * revives them: their refutation may have missed us, and heartbeats are rare), except those that
   * just relayed gossip to us (they need no ping).
   */
  private probeTurns(): string[] {
    return this.connected().filter(
      p =>
        this.tenants.some(t => {
          const state = this.view.get(t, p)?.state
          return state !== undefined && state !== 'left'
        }) && !this.relayedWithin(p, this.probeIntervalMs)
    )
  }

  /**
   * Whether `a` is a live member and `b` a member of one tenant of this agent (`bLive`: a live
   * one). Only then may `a` have us probe `b`, or probe `b` for us.
   */
  private sharesTenant(a: string, b: string, bLive: boolean): boolean {
    return this.tenants.some(t => this.isLive(a, t) && (bLive ? this.isLive(b, t) : this.view.get(t, b) !== undefined))
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peerId = evt.detail.toString()
    if (this.components.releasedOnPurpose?.(peerId) === true) return
    if (this.tenants.some(t => this.view.get(t, peerId)?.state === 'alive')) void this.probe(peerId, 'connection-lost')
  }

  /**
   * Probe a member (see `Prober`) and act on the result in every tenant it belongs to: an answer
   * confirms it alive; a refused connection, or silence from it towards us and every helper,
   * makes it suspect, and we gossip that. An inconclusive probe (nobody to ask, or our own event
   * loop stalled) counts only against a member whose heartbeats are overdue too.
   */
  private async probe(peerId: string, reason: string, conclusiveOnly = false): Promise<void> {
    if (this.probing.has(peerId) || !this.started) return
    this.probing.add(peerId)
    // A probe round may reach a member between two attempts: it continues the series.
    const attempt = this.unanswered.get(peerId) ?? 0
    let again = false
    try {
      const result = await this.prober.probe(peerIdFromString(peerId), conclusiveOnly ? 0 : attempt, !conclusiveOnly)
      if (!this.started) return
      if (conclusiveOnly && result !== 'alive' && result !== 'unreachable') return
      const now = Date.now()
      if (result !== 'alive' && result !== 'unreachable') {
        // A timeout is weak evidence. A process that relayed gossip to us lately runs, it is only
        // slow; otherwise it gets `PROBE_ATTEMPTS` tries, each with twice the timeout.
        if (this.vouchedByRelay(peerId)) {
          this.unanswered.delete(peerId)
          return
        }
        if (attempt + 1 < C.PROBE_ATTEMPTS) {
          this.unanswered.set(peerId, attempt + 1)
          again = true
          return
        }
      }
      this.unanswered.delete(peerId)
      for (const tenant of this.tenants) {
        const member = this.view.get(tenant, peerId)
        if (member === undefined) continue
        if (result === 'alive') {
          this.emit(this.view.confirmAlive(tenant, peerId, now))
          continue
        }
        if (result === 'inconclusive' && !this.view.isSilent(member, now)) continue
        this.log.debug({ tenant, peer: peerId, reason, result }, 'probe failed')
        const change = this.view.suspect(tenant, peerId, member.record.incarnation, now, reason)
        this.emit(change)
        if (change !== undefined) {
          await this.publish(tenant, { type: 'suspect', peerId, incarnation: member.record.incarnation })
        }
      }
    } finally {
      this.probing.delete(peerId)
      if (again) this.probeAgain(peerId, reason)
    }
  }

  private probeAgain(peerId: string, reason: string): void {
    const timer = setTimeout(
      () => {
        this.retries.delete(timer)
        void this.probe(peerId, reason)
      },
      Math.max(this.probeIntervalMs, C.MIN_PROBE_RETRY_MS)
    )
    timer.unref()
    this.retries.add(timer)
  }

  // --- push-pull sync -------------------------------------------------------------------------

  private snapshot(tenant: string, now: number): SyncSnapshot {
    const members: SyncSnapshot['members'] = []
    const down: NonNullable<SyncSnapshot['down']> = []
    const own = this.own.get(tenant)
    if (own !== undefined) members.push({ ...own.signed, ageMs: 0, intervalMs: this.intervalFor(tenant) })
    for (const { member: m } of this.view.members(tenant)) {
      if (m.state === 'alive') {
        members.push({ ...m.signed, ageMs: Math.max(0, now - m.lastSeen), intervalMs: m.intervalMs })
      } else down.push({ peerId: m.record.peerId, incarnation: m.record.incarnation })
    }
    return { tenant, members, down }
  }

  /** Apply a peer's snapshots; true when they taught this agent a member it did not hold alive. */
  private async merge(snapshots: SyncSnapshot[], admitted: string[]): Promise<boolean> {
    const now = Date.now()
    // Members the peer holds down and this agent alive. Second-hand news of a failure is checked
    // first-hand, never adopted: the peer may have missed a refutation, and a live member would
    // not hear of a suspicion adopted in silence.
    const disputed = new Set<string>()
    const stale: Array<{ tenant: string; peerId: string; incarnation: number }> = []
    const aliveBefore = this.aliveCount()
    for (const snap of snapshots) {
      if (!admitted.includes(snap.tenant)) continue
      for (const entry of snap.members) {
        const record = await this.admitted(snap.tenant, entry)
        if (typeof record === 'string') {
          this.rejectSync(record, 'snapshot')
          continue
        }
        if (record.peerId === this.peerId) continue
        this.apply(record, entry, { now, intervalMs: entry.intervalMs, ageMs: entry.ageMs })
      }
      for (const { peerId, incarnation } of snap.down ?? []) {
        // The peer holds this agent down (a partition it was on the other side of): refute, as
        // SWIM does when it hears of its own death. Nothing else would tell that peer otherwise,
        // short of a probe over a connection or the backstop heartbeat.
        if (peerId === this.peerId) {
          this.refute(incarnation, 'down-in-peer-view')
          continue
        }
        const m = this.view.get(snap.tenant, peerId)
        if (m?.state !== 'alive') continue
        if (incarnation >= m.record.incarnation) disputed.add(peerId)
        else stale.push({ tenant: snap.tenant, peerId, incarnation })
      }
    }
    const taught = this.aliveCount() > aliveBefore
    if (taught) this.syncAgainSoon()
    for (const peerId of [...disputed].slice(0, C.MAX_SYNC_PROBES)) void this.probe(peerId, 'down-in-peer-view')
    // Down at an incarnation older than ours: the peer most likely missed a refutation, but see
    // `recheckStale`. Within the same cap.
    let left = C.MAX_SYNC_PROBES - disputed.size
    for (const s of stale) {
      if (left <= 0) break
      if (!disputed.has(s.peerId) && this.recheckStale(s.tenant, s.peerId, s.incarnation, 'stale-down-in-peer-view')) {
        left--
      }
    }
    return taught
  }

  /** What this agent says first in a sync: its tenants, credentials and latest tenant states. */
  private introduction(): SyncMessage {
    const credentials: Record<string, Credential> = {}
    const states: Record<string, TenantState> = {}
    for (const tenant of this.tenants) {
      const ring = this.components.tenancy.keyring(tenant)
      if (ring?.credential !== undefined) credentials[tenant] = ring.credential
      if (ring?.state !== undefined) states[tenant] = ring.state
    }
    return { tenants: [...this.tenants], snapshots: [], credentials, states }
  }

  /**
   * The tenants `remote` proved it belongs to (an authenticated peer over a noise channel, with
   * a credential bound to it), adopting any newer tenant state it brought.
   */
  private async admit(remote: string, msg: SyncMessage): Promise<string[]> {
    const admitted: string[] = []
    for (const tenant of this.tenants) {
      if (!(msg.tenants ?? []).includes(tenant)) continue
      const state = msg.states?.[tenant]
      if (state !== undefined) await this.components.tenancy.applyState(tenant, state, true)
      const ring = this.components.tenancy.keyring(tenant)
      if (ring?.authenticated === true) {
        const credential = msg.credentials?.[tenant]
        const checked = await ring.check(remote, credential !== undefined ? { credential } : {})
        if (typeof checked === 'string') {
          this.rejectSync(checked === 'unknown-credential' ? 'no-credential' : checked, remote)
          continue
        }
      }
      admitted.push(tenant)
    }
    return admitted
  }

  private snapshots(tenants: string[]): SyncSnapshot[] {
    const now = Date.now()
    return tenants.map(t => this.snapshot(t, now))
  }

  /**
   * A new outbound connection syncs views, unless this agent already sees the peer alive in
   * every tenant: then the views agree on it, and anti-entropy covers the rest. Syncs on
   * connect are for joining and for healing (a restart, a partition: the peer is unknown or
   * dead here). A connection opened for another purpose (a council ack to a coordinator) must
   * not cost two full-view exchanges: at 100 agents over 4 processes ten such dials, each with
   * its sync, held the acks of a formation up for over a second.
   */
  private readonly onIdentify = (
    evt: CustomEvent<{ peerId: PeerId; protocols: string[]; connection: Connection }>
  ): void => {
    const { peerId, protocols, connection } = evt.detail
    if (connection.direction !== 'outbound' || !protocols.includes(C.SYNC_PROTOCOL)) return
    if (this.seesAlive(peerId.toString())) return
    void this.sync(peerId)
  }

  /** Whether every tenant's view holds `peerId` alive (false while any view lacks it). */
  private seesAlive(peerId: string): boolean {
    return this.tenants.every(tenant => this.view.get(tenant, peerId)?.state === 'alive')
  }

  /**
   * Push-pull with a random peer: often while joining (agents started together each see only
   * part of the mesh at their first sync), then every `syncIntervalMs` as anti-entropy, stretched
   * as the tenant grows. A sync that taught this agent a member it did not hold alive brings the
   * next one forward (see `FRUITFUL_SYNC_DELAY_MS`): the view fills in as many rounds as it takes,
   * not at the regular pace, and an agent whose view is whole pays nothing extra.
   */
  private scheduleSync(round: number, delayMs?: number): void {
    clearTimeout(this.syncTimer)
    this.syncRound = round
    this.syncDue =
      Date.now() +
      (delayMs ??
        (round < C.JOIN_SYNC_DELAYS_MS.length
          ? (C.JOIN_SYNC_DELAYS_MS[round] as number)
          : pushPullInterval(this.syncIntervalMs, this.largestTenant())))
    this.syncTimer = setTimeout(
      () => {
        void this.syncWithRandomPeer().then(taught => {
          if (this.started && this.syncRound === round) {
            this.scheduleSync(round + 1, taught ? C.FRUITFUL_SYNC_DELAY_MS : undefined)
          }
        })
      },
      Math.max(0, this.syncDue - Date.now())
    )
    this.syncTimer.unref()
  }

  /** A sync taught this agent something: the next one comes soon, unless it is due sooner. */
  private syncAgainSoon(): void {
    if (!this.started || this.syncDue - Date.now() <= C.FRUITFUL_SYNC_DELAY_MS) return
    this.scheduleSync(this.syncRound, C.FRUITFUL_SYNC_DELAY_MS)
  }

  private async syncWithRandomPeer(): Promise<boolean> {
    const peers = this.connected()
    const pick = peers[Math.floor(Math.random() * peers.length)]
    return pick !== undefined && (await this.sync(peerIdFromString(pick)))
  }

  /**
   * Exchange views with one peer, in three messages so that no view is shown before the other
   * side proved membership: introductions both ways (the reply carries the views the initiator
   * was admitted to), then the initiator's views for the tenants the responder proved.
   */
  /** Exchange views with `peerId`; true when it taught this agent a member it did not hold alive. */
  async sync(peerId: PeerId): Promise<boolean> {
    if (!this.started) return false
    const signal = AbortSignal.timeout(C.SYNC_TIMEOUT_MS)
    const remote = peerId.toString()
    this.syncs++
    try {
      for (const tenant of this.tenants) await this.ownRecord(tenant)
      const stream = await this.components.node.dialProtocol(peerId, C.SYNC_PROTOCOL, { signal })
      const lp = lpStream(stream, { maxDataLength: C.MAX_SYNC_BYTES })
      await lp.write(encodeJson(this.introduction()), { signal })
      const reply = decodeJson((await lp.read({ signal })).subarray(), syncMessageSchema)
      if (reply === undefined) {
        this.rejectSync('malformed', remote)
        stream.abort(new ProtocolError('malformed sync reply'))
        return false
      }
      const admitted = await this.admit(remote, reply)
      await lp.write(encodeJson({ snapshots: this.snapshots(admitted) }), { signal })
      await stream.close({ signal })
      return await this.merge(reply.snapshots, admitted)
    } catch (err) {
      this.log.debug({ peer: remote, err: (err as Error).message }, 'sync failed')
      return false
    }
  }

  private readonly onSyncStream = ({ stream, connection }: IncomingStreamData): void => {
    const signal = AbortSignal.timeout(C.SYNC_TIMEOUT_MS)
    const remote = connection.remotePeer.toString()
    void (async () => {
      try {
        const lp = lpStream(stream, { maxDataLength: C.MAX_SYNC_BYTES })
        const hello = decodeJson((await lp.read({ signal })).subarray(), syncMessageSchema)
        if (hello === undefined) {
          this.rejectSync('malformed', remote)
          stream.abort(new ProtocolError('malformed sync request'))
          return
        }
        const admitted = await this.admit(remote, hello)
        for (const tenant of admitted) await this.ownRecord(tenant)
        await lp.write(encodeJson({ ...this.introduction(), snapshots: this.snapshots(admitted) }), { signal })
        const views = decodeJson((await lp.read({ signal })).subarray(), syncMessageSchema)
        await stream.close({ signal })
        if (views === undefined) {
          this.rejectSync('malformed', remote)
          return
        }
        await this.merge(views.snapshots, admitted)
      } catch (err) {
        stream.abort(err as Error)
        this.log.debug({ err: (err as Error).message }, 'incoming sync failed')
      }
    })()
  }

  /** Revoked members leave the view at once; their later messages are rejected by tenancy. */
  private readonly onStateChange = (tenant: string, change: StateChange): void => {
    for (const peerId of change.revoked) this.emit(this.view.revoke(tenant, peerId, Date.now()))
  }
}
