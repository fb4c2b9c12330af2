import { performance } from 'node:perf_hooks'
import { peerIdFromString } from '@libp2p/peer-id'
import type { IncomingStreamData, Libp2p, PeerId } from '@libp2p/interface'
import type { ProbePings } from '../node/index.js'
import { lpStream } from 'it-length-prefixed-stream'
import { silentLogger, type Logger } from '../logger/index.js'
import { isTimeout } from '../util/errors.js'
import { watchLoopStalls, type LoopStalls } from '../util/loop-stalls.js'

import * as C from './constants.js'
import { decodeJson, encodeJson, probeReplySchema, probeRequestSchema } from './messages.js'
import { everyTick, TICK_MS, type Ticking } from '../util/ticker.js'

/**
 * What a probe learnt of a peer:
 * - `alive`: it answered us, or a helper it answered;
 * - `unreachable`: the ping failed and left no connection to it (a refused dial or a reset
 *   connection: the process is gone, conclusive);
 * - `unanswered`: neither we nor any helper got an answer in time;
 * - `inconclusive`: we got no answer, and nobody could be asked to try (too few peers), or our own
 *   event loop stalled for a good part of the timeout (the slow one may be us).
 */
export type ProbeResult = 'alive' | 'unreachable' | 'unanswered' | 'inconclusive'

export interface ProberInit {
  /**
   * One connected member is pinged this often, in randomized round-robin order (SWIM's
   * protocol period). 0: no rounds; members are probed only when their connection drops or their
   * heartbeats are overdue.
   *
   * @default 1000
   */
  probeIntervalMs?: number
  /**
   * Timeout of one ping, ours or a helper's.
   *
   * @default 1000
   */
  pingTimeoutMs?: number
  /**
   * Members asked to ping a peer that did not answer us, before it is suspected.
   *
   * @default 3
   */
  indirectProbes?: number
  /**
   * Structured logger.
   *
   * @default silent
   */
  logger?: Logger
}

export interface ProberComponents {
  node: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'getConnections'>
  ping: Pick<ProbePings, 'ping'>
  /** Peers to take turns probing: connected members. */
  neighbours: () => string[]
  /** Connected members other than `target` that share a tenant with it: who may probe it for us. */
  helpers: (target: string) => string[]
  /** Whether this agent probes `target` when `requester` asks (both members of a shared tenant). */
  mayProbeFor: (requester: string, target: string) => boolean
  /** Whether `peerId` showed it runs lately without a ping (it relayed gossip to us): a helper vouches for it. */
  recentlyHeard: (peerId: string) => boolean
  /** Called with the peer whose turn it is; the owner probes it and acts on the result. */
  onTurn: (peerId: string) => void
}

/**
 * SWIM's failure detector. Each period one connected member is pinged over its connection; a
 * ping that times out is retried through up to `indirectProbes` other members, so one slow link
 * or one overloaded prober does not raise a suspicion. The cost is one ping per agent per
 * period whatever the mesh size, where heartbeats over gossip cost O(N²) mesh-wide.
 */
export class Prober {
  private readonly components: ProberComponents
  private readonly log: Logger
  private readonly probeIntervalMs: number
  private readonly pingTimeoutMs: number
  private readonly indirectProbes: number
  /** This round's remaining turns (SWIM's randomized round robin: everyone once per round). */
  private order: string[] = []
  private timer?: ReturnType<typeof setTimeout>
  private ticking?: Ticking
  private nextTurnAt = 0
  private running = false
  /** Pings sent since start: probes of its own, and pings for members that asked. */
  pings = 0
  /**
   * Lifeguard's local health multiplier: how much this agent doubts its own judgement. Raised
   * when its probes go unanswered or it had to refute a suspicion of itself, lowered by every
   * answered ping. Probe periods and timeouts are stretched by (1 + health).
   */
  private health = 0
  private stalls?: LoopStalls

  constructor(components: ProberComponents, init: ProberInit = {}) {
    this.components = components
    this.log = (init.logger ?? silentLogger()).child({ component: 'prober' })
    this.probeIntervalMs = init.probeIntervalMs ?? C.DEFAULT_PROBE_INTERVAL_MS
    this.pingTimeoutMs = init.pingTimeoutMs ?? C.DEFAULT_PING_TIMEOUT_MS
    this.indirectProbes = init.indirectProbes ?? C.DEFAULT_INDIRECT_PROBES
  }

  async start(): Promise<void> {
    await this.components.node.handle(C.PROBE_PROTOCOL, this.onProbeRequest, { runOnLimitedConnection: false })
    this.stalls = watchLoopStalls()
    this.running = this.probeIntervalMs > 0
    if (!this.running) return
    if (this.probeIntervalMs < TICK_MS) {
      this.scheduleTurn()
      return
    }
    // On the process's shared tick: a turn is due once its (health-stretched) period has passed.
    this.nextTurnAt = performance.now() + this.turnPeriodMs()
    this.ticking = everyTick(TICK_MS, now => {
      if (now + TICK_MS / 2 < this.nextTurnAt) return
      this.nextTurnAt = now + this.turnPeriodMs()
      this.turn()
    })
  }

  async stop(): Promise<void> {
    this.running = false
    clearTimeout(this.timer)
    this.ticking?.stop()
    this.stalls?.release()
    this.stalls = undefined
    this.order = []
    await this.components.node.unhandle(C.PROBE_PROTOCOL)
  }

  /**
   * Ping `peerId` directly and, if it does not answer in time, through helpers (unless
   * `indirect` is false). Attempt k waits 2^k ping timeouts.
   */
  async probe(peerId: PeerId, attempt = 0, indirect = true): Promise<ProbeResult> {
    const started = performance.now()
    const timeoutMs = Math.min(this.pingTimeoutMs * (1 + this.health) * 2 ** attempt, C.MAX_PROBE_TIMEOUT_MS)
    try {
      this.pings++
      await this.components.ping.ping(peerId, { signal: AbortSignal.timeout(timeoutMs) })
      this.health = Math.max(0, this.health - 1)
      return 'alive'
    } catch (err) {
      // Only a failure that left no connection is conclusive. An error on a live connection is
      // not: its muxer is answering, or the error is ours (libp2p allows one outbound ping
      // stream per connection, and its connection monitor pings too).
      if (!isTimeout(err) && !isStreamLimit(err) && this.components.node.getConnections(peerId).length === 0) {
        return 'unreachable'
      }
      this.log.trace({ peer: peerId.toString(), err: (err as Error).message }, 'direct ping failed')
    }
    // Measured with 34 agents on one loop: without this, pings that timed out behind a stalled
    // loop raised suspicions, each refutation flooded the mesh and stalled it further, and the
    // view never converged. Asking helpers would only add to the load.
    if (this.stalled(started, timeoutMs)) return 'inconclusive'
    const target = peerId.toString()
    if (this.indirectProbes === 0 || !indirect) return 'unanswered'
    const helpers = shuffle(this.components.helpers(target)).slice(0, this.indirectProbes)
    if (helpers.length === 0) return 'inconclusive'
    const answers = await Promise.all(helpers.map(async helper => await this.askToProbe(helper, target, timeoutMs)))
    this.log.debug({ peer: target, helpers: helpers.length, answers }, 'indirect probe')
    if (answers.includes('vouched')) return 'alive'
    // Lifeguard: helpers that answered "no" (nacks) show our own links work; no answer at all
    // suggests the slow one is us.
    if (!answers.includes('denied')) this.doubt()
    return this.stalled(started, timeoutMs) ? 'inconclusive' : 'unanswered'
  }

  /** Whether this process's event loop stalled for a share of `timeoutMs` since `since`. */
  private stalled(since: number, timeoutMs: number): boolean {
    return (this.stalls?.longestSince(since) ?? 0) > timeoutMs * C.STALL_SHARE_OF_TIMEOUT
  }

  /** Something suggests this agent is the slow one (see `health`). */
  doubt(): void {
    this.health = Math.min(C.MAX_LOCAL_HEALTH, this.health + 1)
  }

  private turnPeriodMs(): number {
    return this.probeIntervalMs * (1 + this.health)
  }

  /** Turns on a timer of their own: probe intervals shorter than the shared tick (test settings). */
  private scheduleTurn(): void {
    if (!this.running) return
    this.timer = setTimeout(() => {
      this.turn()
      this.scheduleTurn()
    }, this.turnPeriodMs())
    this.timer.unref()
  }

  private turn(): void {
    const neighbours = new Set(this.components.neighbours())
    let next = this.order.shift()
    while (next !== undefined && !neighbours.has(next)) next = this.order.shift()
    if (next === undefined) {
      this.order = shuffle([...neighbours])
      next = this.order.shift()
    }
    if (next !== undefined) this.components.onTurn(next)
  }

  /** Whether `helper` got an answer from `target` (`vouched`), did not (`denied`), or did not reply. */
  /** Ping `target` for a member that asked; true when it answered in time. */
  private async pingFor(target: string, timeoutMs: number): Promise<boolean> {
    this.pings++
    return await this.components.ping.ping(peerIdFromString(target), { signal: AbortSignal.timeout(timeoutMs) }).then(
      () => true,
      () => false
    )
  }

  private async askToProbe(
    helper: string,
    target: string,
    timeoutMs: number
  ): Promise<'vouched' | 'denied' | 'no-reply'> {
    // The helper may have to dial the target before its ping timeout runs out.
    const signal = AbortSignal.timeout(timeoutMs * 2)
    try {
      const stream = await this.components.node.dialProtocol(peerIdFromString(helper), C.PROBE_PROTOCOL, { signal })
      const lp = lpStream(stream, { maxDataLength: C.MAX_PROBE_BYTES })
      await lp.write(encodeJson({ target, timeoutMs }), { signal })
      const reply = decodeJson((await lp.read({ signal })).subarray(), probeReplySchema)
      await stream.close({ signal }).catch(() => {})
      if (reply === undefined) return 'no-reply'
      return reply.ok ? 'vouched' : 'denied'
    } catch (err) {
      this.log.debug({ helper, peer: target, err: (err as Error).message }, 'indirect probe request failed')
      return 'no-reply'
    }
  }

  private readonly onProbeRequest = ({ stream, connection }: IncomingStreamData): void => {
    // Long enough for the largest timeout a request may ask for.
    const signal = AbortSignal.timeout(C.MAX_PROBE_TIMEOUT_MS * 2)
    const requester = connection.remotePeer.toString()
    void (async () => {
      try {
        const lp = lpStream(stream, { maxDataLength: C.MAX_PROBE_BYTES })
        const request = decodeJson((await lp.read({ signal })).subarray(), probeRequestSchema)
        let ok = false
        if (
          request !== undefined &&
          request.target !== requester &&
          this.components.mayProbeFor(requester, request.target)
        ) {
          const timeoutMs = Math.min(request.timeoutMs ?? this.pingTimeoutMs, C.MAX_PROBE_TIMEOUT_MS)
          ok = this.components.recentlyHeard(request.target) || (await this.pingFor(request.target, timeoutMs))
        } else {
          this.log.debug({ requester, target: request?.target }, 'indirect probe request refused')
        }
        await lp.write(encodeJson({ ok }), { signal })
        await stream.close({ signal })
      } catch (err) {
        stream.abort(err as Error)
        this.log.debug({ requester, err: (err as Error).message }, 'indirect probe request failed')
      }
    })()
  }
}

/** libp2p refused to open a second ping stream on a connection: says nothing of the peer. */
function isStreamLimit(err: unknown): boolean {
  return (err as Error).name === 'TooManyOutboundProtocolStreamsError'
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[items[i], items[j]] = [items[j] as T, items[i] as T]
  }
  return items
}
