import { TopicValidatorResult } from '@libp2p/interface'
import type { Message, PeerId, PubSub, Startable } from '@libp2p/interface'
import { silentLogger, type Logger } from '../logger/index.js'
import { decodeJson, encodeJson } from '../util/json.js'
import { yieldIfBusy } from '../util/loop-stalls.js'
import { scoreTopic } from '../node/gossip.js'
import * as C from './constants.js'
import type { CredentialClaims } from './credential.js'
import { open, seal } from './crypto.js'
import { decodeEnvelope, encodeEnvelope, encodeHeader, type EnvelopeHeader } from './envelope.js'
import { NotATenantMemberError } from './errors.js'
import type { StateChange, TenantKeyring } from './keyring.js'
import { isValidChannel, parseTopic, topicFor } from './namespace.js'
import { ReplayGuard } from './replay.js'
import { tenantStateSchema, type TenantState } from './state.js'

/** Where tenancy reports traffic and rejections; implemented by the metrics module. */
export interface TenancyRecorder {
  /** A message accepted on `channel`; `sentAt` is the sender's clock when it sealed it. */
  messageIn(channel: string, sentAt?: number): void
  messageOut(channel: string): void
  rejected(channel: string, reason: string): void
}

export interface TenancyInit {
  /**
   * The tenants this agent belongs to (see `loadTenants`).
   *
   * @default [the open 'default' tenant]
   */
  keyrings?: TenantKeyring[]
  /**
   * Envelopes whose timestamp is further than this from the local clock are rejected.
   *
   * @default 30000
   */
  clockSkewMs?: number
  /**
   * Structured logger.
   *
   * @default silent
   */
  logger?: Logger
  /**
   * Counts messages in and out and rejections by reason.
   *
   * @default no-op
   */
  recorder?: TenancyRecorder
  /**
   * Called when a tenant state newer than the one held was adopted (to persist it).
   *
   * @default none
   */
  onState?: (tenant: string, state: TenantState, change: StateChange) => void
}

export interface TenancyComponents {
  peerId: PeerId
  pubsub: PubSub
}

/** An authenticated, decrypted tenant message, as channel handlers receive it. */
export interface TenantMessage {
  tenant: string
  channel: string
  /** The sender: signer of the gossip message, member of the tenant. */
  from: string
  /** Role the sender claimed (granted by its credential). */
  role?: string
  /** The sender's credential claims; undefined in the open tenant. */
  claims?: CredentialClaims
  /** Sender clock when sealed (ms). */
  sentAt: number
  /** The sender's session: when its process started (ms); a higher one means it restarted since. */
  session: number
  /**
   * The peer this copy came from (gossipsub's propagation source): the sender itself, or the
   * relay that passed it on, one hop closer to the sender. Absent where no gossip carried it.
   */
  via?: string
  payload: Uint8Array
}

/** A handler's verdict: accept (and relay), ignore (drop quietly), or reject with a reason (penalise the relay). */
export type Verdict = 'accept' | 'ignore' | { reject: string }
export type ChannelHandler = (message: TenantMessage) => Verdict | Promise<Verdict>

export interface ChannelOptions {
  /**
   * Largest envelope accepted on this channel.
   *
   * @default 65536
   */
  maxBytes?: number
}

/** One channel of one tenant, carried on the tenant's topic `/conclave/2/<tenant>`. */
export interface TenantChannel {
  readonly tenant: string
  readonly channel: string
  /** The tenant's gossipsub topic, shared by all its channels. */
  readonly topic: string
  /** Seal and publish; resolves to the number of peers it was sent to. */
  publish(payload: Uint8Array, options?: { role?: string }): Promise<number>
}

interface Joined extends TenantChannel {
  handler: ChannelHandler
  maxBytes: number
  /** Per-sender, per-channel sequence number of this session. */
  seq: number
}

/** A tenant's topic and the channels this agent joined on it. */
interface Subscribed {
  tenant: string
  topic: string
  channels: Map<string, Joined>
  /** The largest envelope any of the channels accepts (checked before the header is read). */
  maxBytes: number
  /** Credential must be sent in full on the next message (first message, or a new subscriber). */
  presentFull: boolean
  lastFullAt: number
}

const noopRecorder: TenancyRecorder = { messageIn() {}, messageOut() {}, rejected() {} }

/** The channel rejections are counted under before an envelope's header was read. */
const UNKNOWN_CHANNEL = 'unknown'

class Rejection {
  constructor(
    readonly reason: string,
    readonly channel = UNKNOWN_CHANNEL
  ) {}
}

/**
 * Tenant isolation on gossipsub. Every tenant channel is a topic in the tenant's namespace whose
 * messages are envelopes: sender, per-sender sequence, timestamp, the sender's credential (or a
 * reference to it), and the payload sealed with the tenant's group key. A topic validator checks
 * all of it before gossipsub relays anything, so a peer without a valid credential can neither
 * read a tenant's traffic nor get a message accepted, and each rejection lowers its score.
 */
export class Tenancy implements Startable {
  private readonly components: TenancyComponents
  private readonly log: Logger
  private readonly recorder: TenancyRecorder
  private readonly rings = new Map<string, TenantKeyring>()
  /** Subscribed tenant topics, by tenant. */
  private readonly topics = new Map<string, Subscribed>()
  private readonly replay = new ReplayGuard()
  private readonly clockSkewMs: number
  private readonly init: TenancyInit
  private readonly stateListeners = new Set<(tenant: string, change: StateChange) => void>()
  private readonly relayListeners = new Set<(peerId: string) => void>()
  private readonly mismatchListeners = new Set<(peerId: string) => void>()
  /** Sequence numbers restart with every session; receivers order sessions by this. */
  private readonly session = Date.now()
  private started = false

  constructor(components: TenancyComponents, init: TenancyInit = {}) {
    this.components = components
    this.init = init
    this.log = (init.logger ?? silentLogger()).child({ component: 'tenancy' })
    this.recorder = init.recorder ?? noopRecorder
    this.clockSkewMs = init.clockSkewMs ?? C.DEFAULT_CLOCK_SKEW_MS
    for (const ring of init.keyrings ?? []) this.rings.set(ring.tenant, ring)
  }

  readonly [Symbol.toStringTag] = 'conclave:tenancy'

  /** Tenants this agent belongs to. */
  get tenants(): string[] {
    return [...this.rings.keys()]
  }

  keyring(tenant: string): TenantKeyring | undefined {
    return this.rings.get(tenant)
  }

  /** Listen to adopted tenant states (rotations, revocations); returns an unsubscribe function. */
  onStateChange(listener: (tenant: string, change: StateChange) => void): () => void {
    this.stateListeners.add(listener)
    return () => this.stateListeners.delete(listener)
  }

  /**
   * Listen to the peers that deliver gossip on a tenant channel to this agent (first copies only:
   * gossipsub drops duplicates before validation). Membership takes a delivery as evidence that
   * the peer's process runs. Returns a function that unsubscribes.
   */
  onRelay(listener: (peerId: string) => void): () => void {
    this.relayListeners.add(listener)
    return () => this.relayListeners.delete(listener)
  }

  /**
   * Listen to peers that sent under a key epoch this agent does not hold: one of the two missed
   * a rotation, and a sync with that peer exchanges tenant states. Returns a function that
   * unsubscribes.
   */
  onEpochMismatch(listener: (peerId: string) => void): () => void {
    this.mismatchListeners.add(listener)
    return () => this.mismatchListeners.delete(listener)
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    this.components.pubsub.addEventListener('subscription-change', this.onSubscriptionChange)
    for (const ring of this.rings.values()) {
      if (!ring.authenticated) {
        this.log.warn(
          { tenant: ring.tenant },
          'no credentials: running in the open default namespace, where any peer can read and publish'
        )
        continue
      }
      this.join(ring.tenant, C.CONTROL_CHANNEL, async msg => await this.onControl(msg), {
        maxBytes: C.MAX_STATE_BYTES + 8192
      })
    }
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    this.components.pubsub.removeEventListener('subscription-change', this.onSubscriptionChange)
    for (const sub of [...this.topics.values()]) for (const joined of [...sub.channels.values()]) this.leave(joined)
  }

  /**
   * Join a channel of a tenant this agent belongs to; `handler` sees only valid messages. The
   * first channel of a tenant subscribes to the tenant's topic.
   */
  join(tenant: string, channel: string, handler: ChannelHandler, options: ChannelOptions = {}): TenantChannel {
    if (!this.rings.has(tenant)) throw new NotATenantMemberError(tenant)
    if (!isValidChannel(channel)) throw new RangeError(`"${channel}" is not a channel name (a-z, 0-9, ".", "_", "-")`)
    let sub = this.topics.get(tenant)
    const existing = sub?.channels.get(channel)
    if (existing !== undefined) return existing
    if (sub === undefined) {
      const topic = topicFor(tenant)
      const created: Subscribed = {
        tenant,
        topic,
        channels: new Map(),
        maxBytes: C.DEFAULT_MAX_MESSAGE_BYTES,
        presentFull: true,
        lastFullAt: 0
      }
      sub = created
      this.topics.set(tenant, created)
      const { pubsub } = this.components
      scoreTopic(pubsub, topic)
      pubsub.topicValidators.set(topic, async (source, msg) => await this.validate(created, source, msg))
      pubsub.subscribe(topic)
    }
    const joined: Joined = {
      tenant,
      channel,
      topic: sub.topic,
      handler,
      maxBytes: options.maxBytes ?? C.DEFAULT_MAX_MESSAGE_BYTES,
      seq: 0,
      publish: async (payload, opts) => await this.publish(joined, payload, opts?.role)
    }
    sub.channels.set(channel, joined)
    sub.maxBytes = Math.max(sub.maxBytes, joined.maxBytes)
    return joined
  }

  /** Leave a channel; leaving a tenant's last channel unsubscribes from its topic. */
  leave(channel: TenantChannel): void {
    const sub = this.topics.get(channel.tenant)
    if (sub?.channels.get(channel.channel) !== channel) return
    sub.channels.delete(channel.channel)
    sub.maxBytes = Math.max(C.DEFAULT_MAX_MESSAGE_BYTES, ...[...sub.channels.values()].map(j => j.maxBytes))
    if (sub.channels.size > 0) return
    this.topics.delete(channel.tenant)
    this.components.pubsub.unsubscribe(sub.topic)
    this.components.pubsub.topicValidators.delete(sub.topic)
  }

  /**
   * Adopt a tenant state (from the authority, through the API, a sync or a file) and, when
   * `announce` is set and it is newer, gossip it to the tenant.
   */
  async applyState(tenant: string, state: TenantState, announce = false): Promise<StateChange | 'stale' | 'invalid'> {
    const ring = this.rings.get(tenant)
    if (ring === undefined) return 'invalid'
    const previousEpoch = ring.epoch
    const result = await ring.applyState(state)
    if (typeof result === 'string') return result
    this.log.info({ tenant, epoch: result.epoch, revoked: result.revoked }, 'adopted tenant state')
    if (result.selfRevoked) {
      this.log.error({ tenant }, "this agent's credential was revoked: it can no longer read or publish in this tenant")
    }
    this.init.onState?.(tenant, state, result)
    for (const listener of this.stateListeners) {
      try {
        listener(tenant, result)
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'tenant state listener failed')
      }
    }
    const control = this.topics.get(tenant)?.channels.get(C.CONTROL_CHANNEL)
    if (announce && control !== undefined) {
      // Sealed under the epoch members hold now, since they do not have the new key yet.
      await this.publish(control, encodeJson(state), undefined, previousEpoch)
    }
    return result
  }

  // --- outgoing -------------------------------------------------------------------------------

  private async publish(joined: Joined, payload: Uint8Array, role?: string, epoch?: number): Promise<number> {
    const ring = this.rings.get(joined.tenant)
    if (ring === undefined) throw new NotATenantMemberError(joined.tenant)
    const now = Date.now()
    const header: EnvelopeHeader = {
      t: joined.tenant,
      c: joined.channel,
      s: this.components.peerId.toString(),
      i: this.session,
      q: ++joined.seq,
      ts: now,
      e: 0
    }
    if (role !== undefined) header.r = role
    let key: Uint8Array | undefined
    if (ring.authenticated) {
      const held = epoch === undefined ? undefined : ring.heldKey(epoch)
      const sealing = held !== undefined && epoch !== undefined ? { epoch, key: held } : ring.currentKey()
      if (sealing === undefined) {
        throw new NotATenantMemberError(joined.tenant, 'this agent holds no group key for it (revoked?)')
      }
      header.e = sealing.epoch
      key = sealing.key
      const sub = this.topics.get(joined.tenant)
      if (sub === undefined || sub.presentFull || now - sub.lastFullAt > C.CREDENTIAL_REPRESENT_MS) {
        header.k = ring.credential
        if (sub !== undefined) {
          sub.presentFull = false
          sub.lastFullAt = now
        }
      } else {
        header.f = ring.credentialRef
      }
    }
    const aad = encodeHeader(header)
    const body = key === undefined ? payload : seal(key, payload, aad)
    const result = await this.components.pubsub.publish(joined.topic, encodeEnvelope(aad, body))
    this.recorder.messageOut(joined.channel)
    return result.recipients.length
  }

  private readonly onSubscriptionChange = (
    evt: CustomEvent<{ peerId: PeerId; subscriptions: Array<{ topic: string; subscribe: boolean }> }>
  ): void => {
    // A new subscriber has not seen our credential: present it in full on the next message.
    for (const change of evt.detail.subscriptions) {
      const parsed = change.subscribe ? parseTopic(change.topic) : undefined
      const sub = parsed === undefined ? undefined : this.topics.get(parsed.tenant)
      if (sub?.topic === change.topic) sub.presentFull = true
    }
  }

  // --- incoming -------------------------------------------------------------------------------

  private reject(channel: string, reason: string, from: string): TopicValidatorResult {
    this.recorder.rejected(channel, reason)
    this.log.debug({ channel, from, reason }, 'message rejected')
    return TopicValidatorResult.Reject
  }

  private ignore(channel: string, reason: string, from: string): TopicValidatorResult {
    this.log.debug({ channel, from, reason }, 'message ignored')
    return TopicValidatorResult.Ignore
  }

  /**
   * The topic validator of every tenant topic. Reject lowers the delivering peer's score (and
   * gossipsub drops the message); Ignore drops it without penalty. A valid message on a channel
   * this agent did not join is accepted, so relayed, unread: the tenant's topic carries every
   * channel, and its mesh must pass on what other members read. Never throws.
   */
  private async validate(sub: Subscribed, source: PeerId, msg: Message): Promise<TopicValidatorResult> {
    await yieldIfBusy()
    const via = source.toString()
    for (const listener of this.relayListeners) listener(via)
    if (msg.type !== 'signed') return this.reject(UNKNOWN_CHANNEL, 'unsigned', 'unknown')
    const from = msg.from.toString()
    let channel = UNKNOWN_CHANNEL
    try {
      const opened = await this.openEnvelope(sub, from, msg.data)
      if (opened instanceof Rejection) return this.reject(opened.channel, opened.reason, from)
      if (typeof opened === 'string') return this.ignore(UNKNOWN_CHANNEL, opened, from)
      channel = opened.channel
      opened.via = via
      const joined = sub.channels.get(channel)
      if (joined === undefined) return TopicValidatorResult.Accept
      const verdict = await joined.handler(opened)
      if (verdict === 'accept') {
        this.recorder.messageIn(channel, opened.sentAt)
        return TopicValidatorResult.Accept
      }
      if (verdict === 'ignore') return TopicValidatorResult.Ignore
      return this.reject(channel, verdict.reject, from)
    } catch (err) {
      this.log.warn({ channel, from, err: (err as Error).message }, 'message validation failed')
      return TopicValidatorResult.Ignore
    }
  }

  /** Check and open an envelope: the message, a rejection, or the reason to ignore it. */
  private async openEnvelope(
    sub: Subscribed,
    from: string,
    data: Uint8Array
  ): Promise<TenantMessage | Rejection | string> {
    // The largest limit first (the header says which channel's applies), then the channel's own.
    if (data.byteLength > sub.maxBytes) return new Rejection('oversized')
    const envelope = decodeEnvelope(data)
    // Unreadable and past every channel's default limit: counted as oversized, as it always was.
    if (envelope === undefined) {
      return new Rejection(data.byteLength > C.DEFAULT_MAX_MESSAGE_BYTES ? 'oversized' : 'malformed')
    }
    const { header } = envelope
    const channel = header.c
    if (data.byteLength > (sub.channels.get(channel)?.maxBytes ?? C.DEFAULT_MAX_MESSAGE_BYTES)) {
      return new Rejection('oversized', channel)
    }
    if (header.t !== sub.tenant) return new Rejection('wrong-topic', channel)
    if (header.s !== from) return new Rejection('sender-mismatch', channel)
    const now = Date.now()
    if (Math.abs(now - header.ts) > this.clockSkewMs) return new Rejection('clock-skew', channel)
    const ring = this.rings.get(sub.tenant)
    if (ring === undefined) return new Rejection('wrong-topic', channel)

    let claims: CredentialClaims | undefined
    let payload = envelope.body
    if (ring.authenticated) {
      if (header.e === 0) return new Rejection('unencrypted', channel)
      const presented =
        header.k !== undefined ? { credential: header.k } : header.f !== undefined ? { ref: header.f } : {}
      const checked = await ring.check(from, presented, header.r !== undefined ? [header.r] : [], now)
      // An unknown reference is not proof of malice: this agent may have missed the full copy.
      if (checked === 'unknown-credential') {
        return header.f !== undefined ? 'unknown-credential' : new Rejection('no-credential', channel)
      }
      if (typeof checked === 'string') return new Rejection(checked, channel)
      claims = checked
      const key = ring.keyFor(header.e, now)
      if (key === undefined) {
        // Either side may have missed a rotation: exchange states with the sender, drop this one.
        if (header.e > ring.epoch + 1) return new Rejection('unknown-epoch', channel)
        for (const listener of this.mismatchListeners) listener(from)
        return header.e > ring.epoch ? 'future-epoch' : 'stale-epoch'
      }
      const plaintext = open(key, envelope.body, envelope.aad)
      if (plaintext === undefined) return new Rejection('decrypt-failed', channel)
      payload = plaintext
    } else if (header.e !== 0 || header.k !== undefined || header.f !== undefined) {
      return new Rejection('malformed', channel)
    }
    if (!this.replay.accept(`${sub.tenant}\u0000${channel}\u0000${from}`, header.i, header.q)) {
      return new Rejection('replay', channel)
    }
    return {
      tenant: sub.tenant,
      channel,
      from,
      ...(header.r !== undefined ? { role: header.r } : {}),
      ...(claims !== undefined ? { claims } : {}),
      sentAt: header.ts,
      session: header.i,
      payload
    }
  }

  private async onControl(msg: TenantMessage): Promise<Verdict> {
    const state = decodeJson(msg.payload, tenantStateSchema)
    if (state === undefined) return { reject: 'malformed' }
    const result = await this.applyState(msg.tenant, state)
    if (result === 'invalid') return { reject: 'bad-state-signature' }
    return result === 'stale' ? 'ignore' : 'accept'
  }
}
