import type { Connection, IncomingStreamData, Libp2p, PeerId, Startable } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from 'it-length-prefixed-stream'
import { z } from 'zod'
import { silentLogger, type Logger } from '../logger/index.js'
import type { MemberChange, MemberState } from '../membership/index.js'
import type { Tenancy, TenantChannel, TenantMessage, Verdict } from '../tenancy/index.js'
import { decodeJson, encodeJson } from '../util/json.js'
import * as C from './constants.js'
import { episodeInputSchema, episodeSchema, type Episode, type EpisodeInput } from './episode.js'
import { EpisodeError } from './errors.js'
import type { EpisodeFilter, EpisodeStore, TenantStats } from './store.js'
import { ProtocolError } from '../util/errors.js'
import { everyTick, type Ticking } from '../util/ticker.js'

export interface MemoryInit {
  /**
   * A random tenant member is asked for missing episodes this often.
   *
   * @default 30000
   */
  antiEntropyIntervalMs?: number
  /**
   * Structured logger.
   *
   * @default silent
   */
  logger?: Logger
}

/** The parts of membership memory uses: who belongs to a tenant, and changes. */
export interface MemoryMembership {
  stateOf(tenant: string, peerId: string): MemberState | undefined
  onChange(listener: (change: MemberChange) => void): () => void
  peers(): Array<{ peerId: string; tenant: string; state: MemberState }>
}

export interface MemoryComponents {
  peerId: PeerId
  tenancy: Tenancy
  membership: MemoryMembership
  node: Pick<
    Libp2p,
    'handle' | 'unhandle' | 'dialProtocol' | 'getConnections' | 'addEventListener' | 'removeEventListener'
  >
  store: EpisodeStore
}

/** How an episode reached this agent. */
export type EpisodeSource = 'local' | 'gossip' | 'pull' | 'import'

export interface MemoryStats {
  origin: string
  tenants: TenantStats[]
  retention: { maxEpisodes: number; maxAgeMs: number }
  pulls: { completed: number; failed: number; received: number }
}

/** An episode gossiped on the tenant's `memory` channel. */
export const memoryGossipSchema = z.object({ type: z.literal('episode'), episode: episodeSchema })
/** What a pulling agent sends on the pull stream: its tenant, and per origin the highest sequence it has. */
export const memoryPullRequestSchema = z.object({
  tenant: z.string().min(1).max(64),
  have: z.record(z.string().max(64), z.number().int().nonnegative())
})
/** What the peer answers on the pull stream, frame by frame: batches of episodes, then done (or an error). */
export const memoryPullFrameSchema = z.union([
  z.object({
    episodes: z.array(episodeSchema).max(C.PULL_BATCH),
    floors: z.record(z.string().max(64), z.number().int().nonnegative())
  }),
  z.object({ done: z.literal(true) }),
  z.object({ error: z.string().max(500) })
])

const MEMBER_STATES: ReadonlySet<MemberState | undefined> = new Set(['alive', 'suspect'])

/**
 * The tenant's episode memory at this agent. Every episode recorded is stored locally and
 * gossiped on the tenant's `memory` channel; an agent repairs what it missed (it was down, it is
 * new, a message was lost) by pulling from a peer over `/conclave/memory/1.0.0`: it sends how far
 * it holds each origin's log without a gap and receives the rest. Pulls happen on start, when a
 * peer joins or comes back, on a gap, and every 30 s with a random member. Only members of a
 * tenant (by the membership view, which holds only credential-checked peers) are served it.
 */
export class Memory implements Startable {
  private readonly components: MemoryComponents
  private readonly log: Logger
  private readonly antiEntropyMs: number
  private readonly channels = new Map<string, TenantChannel>()
  private readonly listeners = new Set<(episode: Episode, source: EpisodeSource) => void>()
  private readonly scheduled = new Map<string, ReturnType<typeof setTimeout>>()
  private readonly inFlight = new Set<string>()
  private readonly counters = { completed: 0, failed: 0, received: 0 }
  private unsubscribe?: () => void
  private ticking: Ticking[] = []
  private started = false

  constructor(components: MemoryComponents, init: MemoryInit = {}) {
    this.components = components
    this.log = (init.logger ?? silentLogger()).child({ component: 'memory' })
    this.antiEntropyMs = init.antiEntropyIntervalMs ?? C.ANTI_ENTROPY_INTERVAL_MS
  }

  readonly [Symbol.toStringTag] = 'conclave:memory'

  get store(): EpisodeStore {
    return this.components.store
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    const { tenancy, node, store } = this.components
    for (const tenant of tenancy.tenants) {
      this.channels.set(
        tenant,
        tenancy.join(tenant, C.MEMORY_CHANNEL, async msg => this.onGossip(msg), {
          maxBytes: C.MAX_EPISODE_MESSAGE_BYTES
        })
      )
    }
    await node.handle(C.MEMORY_PROTOCOL, this.onPullStream, { runOnLimitedConnection: false })
    this.unsubscribe = this.components.membership.onChange(this.onMemberChange)
    node.addEventListener('connection:open', this.onConnection)
    store.prune()
    this.ticking = [
      everyTick(this.antiEntropyMs, () => {
        this.pullFromRandomMembers()
      }),
      everyTick(C.RETENTION_INTERVAL_MS, () => {
        this.applyRetention()
      })
    ]
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    for (const t of this.ticking) t.stop()
    this.ticking = []
    for (const t of this.scheduled.values()) clearTimeout(t)
    this.scheduled.clear()
    this.unsubscribe?.()
    this.components.node.removeEventListener('connection:open', this.onConnection)
    await this.components.node.unhandle(C.MEMORY_PROTOCOL)
    for (const channel of this.channels.values()) this.components.tenancy.leave(channel)
    this.channels.clear()
  }

  /** Listen to every episode that becomes known here; returns an unsubscribe function. */
  onEpisode(listener: (episode: Episode, source: EpisodeSource) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  get tenants(): string[] {
    return this.components.tenancy.tenants
  }

  /** Record an episode of this agent in `tenant` and replicate it. Throws `EpisodeError`. */
  async record(tenant: string, input: EpisodeInput): Promise<Episode> {
    if (!this.tenants.includes(tenant)) {
      throw new EpisodeError('tenant', `this agent is not a member of tenant ${tenant}`)
    }
    const parsed = episodeInputSchema.safeParse(input)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      throw new EpisodeError(issue?.path.join('.') || 'episode', issue?.message ?? 'invalid')
    }
    const { data, ...fields } = parsed.data
    const episode = this.components.store.append({
      ...fields,
      ...(data !== undefined ? { data } : {}),
      tenant,
      agent: this.components.peerId.toString(),
      ts: Date.now()
    })
    this.emit(episode, 'local')
    const channel = this.channels.get(tenant)
    if (channel !== undefined) {
      // Peers that miss this message get the episode by their next pull: never lost.
      channel.publish(encodeJson({ type: 'episode', episode })).catch((err: Error) => {
        this.log.debug({ tenant, err: err.message }, 'episode publish failed; peers will pull it')
      })
    }
    return episode
  }

  query(filter: Omit<EpisodeFilter, 'tenants'> & { tenant?: string }): Episode[] {
    return [...this.stream(filter)]
  }

  /** The same episodes one at a time, read from the database as the caller goes. */
  stream(filter: Omit<EpisodeFilter, 'tenants'> & { tenant?: string }): Generator<Episode> {
    const tenants = filter.tenant === undefined ? this.tenants : this.tenants.filter(t => t === filter.tenant)
    return this.components.store.stream({ ...filter, tenants })
  }

  stats(): MemoryStats {
    const { store } = this.components
    return {
      origin: store.origin,
      tenants: store.stats(this.tenants),
      retention: store.retention,
      pulls: { ...this.counters }
    }
  }

  /** Store imported episodes of this agent's tenants; peers get them by their next pull. */
  import(episodes: Episode[]): { added: number; skipped: number } {
    const mine = episodes.filter(e => this.tenants.includes(e.tenant))
    const added = this.components.store.insert(mine)
    for (const e of added) this.emit(e, 'import')
    return { added: added.length, skipped: episodes.length - added.length }
  }

  /** Fetch from `peer` every episode of `tenant` this agent lacks; resolves to how many arrived. */
  async pull(peer: string, tenant: string): Promise<number> {
    const { membership, node, store } = this.components
    if (!MEMBER_STATES.has(membership.stateOf(tenant, peer))) return 0
    const signal = AbortSignal.timeout(C.PULL_TIMEOUT_MS)
    let received = 0
    try {
      const stream = await node.dialProtocol(peerIdFromString(peer), C.MEMORY_PROTOCOL, { signal })
      const lp = lpStream(stream, { maxDataLength: C.MAX_PULL_FRAME_BYTES })
      await lp.write(encodeJson({ tenant, have: store.have(tenant) }), { signal })
      while (true) {
        const frame = decodeJson((await lp.read({ signal })).subarray(), memoryPullFrameSchema)
        if (frame === undefined) throw new ProtocolError('malformed pull frame')
        if ('error' in frame) throw new ProtocolError(`peer refused: ${frame.error}`)
        if ('done' in frame) break
        for (const [origin, floor] of Object.entries(frame.floors)) store.raiseFloor(tenant, origin, floor)
        const foreign = frame.episodes.find(e => e.tenant !== tenant)
        if (foreign !== undefined) throw new ProtocolError(`peer sent an episode of tenant ${foreign.tenant}`)
        const added = store.insert(frame.episodes)
        received += added.length
        for (const e of added) this.emit(e, 'pull')
      }
      await stream.close({ signal })
      this.counters.completed++
      this.counters.received += received
      if (received > 0) this.log.debug({ peer, tenant, received }, 'pulled missing episodes')
    } catch (err) {
      this.counters.failed++
      this.counters.received += received
      this.log.debug({ peer, tenant, received, err: (err as Error).message }, 'pull failed')
    }
    return received
  }

  /**
   * Pull from `peer` soon; a burst of triggers makes one pull. Only over an open connection: a
   * pull must never make an agent dial every member (at 34 agents that alone saturated a core).
   */
  schedulePull(peer: string, tenant: string, delayMs = C.PULL_DEBOUNCE_MS): void {
    const k = `${tenant}\u0000${peer}`
    if (
      !this.started ||
      this.scheduled.has(k) ||
      peer === this.components.peerId.toString() ||
      !this.connected().has(peer)
    ) {
      return
    }
    const timer = setTimeout(() => {
      this.scheduled.delete(k)
      if (this.inFlight.has(k)) return
      this.inFlight.add(k)
      void this.pull(peer, tenant).finally(() => this.inFlight.delete(k))
    }, delayMs)
    timer.unref()
    this.scheduled.set(k, timer)
  }

  private connected(): Set<string> {
    return new Set(this.components.node.getConnections().map(c => c.remotePeer.toString()))
  }

  /** A connected member of `tenant` other than `except`, at random. */
  private connectedMember(tenant: string, except?: string): string | undefined {
    const { membership } = this.components
    const candidates = [...this.connected()].filter(p => p !== except && membership.stateOf(tenant, p) === 'alive')
    return candidates[Math.floor(Math.random() * candidates.length)]
  }

  private emit(episode: Episode, source: EpisodeSource): void {
    for (const listener of this.listeners) {
      try {
        listener(episode, source)
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'episode listener failed')
      }
    }
  }

  private onGossip(msg: TenantMessage): Verdict {
    const message = decodeJson(msg.payload, memoryGossipSchema)
    if (message === undefined) return { reject: 'malformed' }
    const e = message.episode
    if (e.tenant !== msg.tenant) return { reject: 'wrong-tenant' }
    // Gossip carries an episode from the agent that recorded it; others' arrive by pulls.
    if (e.agent !== msg.from) return { reject: 'sender-mismatch' }
    const { store } = this.components
    const gap = store.hasGapBefore(msg.tenant, e.origin, e.seq)
    const added = store.insert([e])
    for (const a of added) this.emit(a, 'gossip')
    if (gap) {
      // The origin, if connected; otherwise a neighbour, which relayed what we missed or pulled it.
      const from = this.connected().has(msg.from) ? msg.from : this.connectedMember(msg.tenant)
      if (from !== undefined) this.schedulePull(from, msg.tenant)
    }
    return 'accept'
  }

  private readonly onMemberChange = (change: MemberChange): void => {
    // A peer that joined or came back may hold what we lack (and lack what we hold: it pulls too).
    if (change.state === 'alive' && change.previous !== 'alive' && change.previous !== 'suspect') {
      this.schedulePull(change.peerId, change.tenant)
    }
  }

  /** A reconnected member (after a partition, say) is compared with at once. */
  private readonly onConnection = (evt: CustomEvent<Connection>): void => {
    const peer = evt.detail.remotePeer.toString()
    for (const tenant of this.tenants) {
      if (this.components.membership.stateOf(tenant, peer) === 'alive') this.schedulePull(peer, tenant)
    }
  }

  private pullFromRandomMembers(): void {
    for (const tenant of this.tenants) {
      const pick = this.connectedMember(tenant)
      if (pick !== undefined) this.schedulePull(pick, tenant, 0)
    }
  }

  private applyRetention(): void {
    try {
      const removed = this.components.store.prune()
      if (removed > 0) this.log.info({ removed }, 'retention dropped old episodes')
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'retention failed')
    }
  }

  private readonly onPullStream = ({ stream, connection }: IncomingStreamData): void => {
    const signal = AbortSignal.timeout(C.PULL_TIMEOUT_MS)
    const remote = connection.remotePeer.toString()
    void (async () => {
      try {
        const lp = lpStream(stream, { maxDataLength: C.MAX_PULL_FRAME_BYTES })
        const request = decodeJson((await lp.read({ signal })).subarray(), memoryPullRequestSchema)
        if (request === undefined) {
          await lp.write(encodeJson({ error: 'malformed request' }), { signal })
        } else if (
          !this.tenants.includes(request.tenant) ||
          !MEMBER_STATES.has(this.components.membership.stateOf(request.tenant, remote))
        ) {
          // The same answer whether this agent is outside the tenant or the asker is: no oracle.
          await lp.write(encodeJson({ error: `not a member of tenant ${request.tenant}` }), { signal })
        } else {
          for (const frame of this.components.store.missing(request.tenant, request.have)) {
            await lp.write(encodeJson(frame), { signal })
          }
          await lp.write(encodeJson({ done: true }), { signal })
        }
        await stream.close({ signal })
      } catch (err) {
        stream.abort(err as Error)
        this.log.debug({ peer: remote, err: (err as Error).message }, 'serving a pull failed')
      }
    })()
  }
}
