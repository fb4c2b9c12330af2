import { peerIdFromString } from '@libp2p/peer-id'
import type { IncomingStreamData, Libp2p } from '@libp2p/interface'
import { lpStream } from 'it-length-prefixed-stream'
import type { ZodType } from 'zod'
import { silentLogger, type Logger } from '../logger/index.js'
import { within } from '../util/deadline.js'
import { decodeJson, encodeJson } from '../util/json.js'
import * as C from './constants.js'
import {
  councilMessageSchema,
  relayedAckSchema,
  type AckMessage,
  type CommitMessage,
  type RelayedAck
} from './messages.js'
import { DeadlineError, ProtocolError } from '../util/errors.js'

export interface CouncilStreamsComponents {
  node: Pick<Libp2p, 'peerId' | 'handle' | 'unhandle' | 'dial' | 'dialProtocol' | 'getConnections'>
}

/**
 * What becomes of a relayed ack here: counted (this agent is its coordinator), dropped, or
 * passed on to the first of `next` this agent is connected to.
 */
export type RelayRoute = 'counted' | 'dropped' | { next: string[] }

export interface CouncilStreamsInit {
  /** Called with each ack received, from the stream's authenticated peer. */
  onAck: (from: string, ack: AckMessage) => Promise<void>
  /** Decides what becomes of an ack relayed here by `from` (see `ACK_RELAY_PROTOCOL`). */
  onRelayedAck: (from: string, relayed: RelayedAck) => Promise<RelayRoute>
  /**
   * Called with each commit a coordinator hands this agent directly (see `COMMIT_PROTOCOL`), from
   * the stream's authenticated peer; resolves once it is applied, throws when it was refused.
   */
  onCommit: (from: string, commit: CommitMessage) => Promise<void>
  /**
   * Structured logger.
   *
   * @default silent
   */
  logger?: Logger
}

/**
 * The council messages that go between a coordinator and its members over streams of their own,
 * one message each: acknowledgements to the coordinator (`ACK_PROTOCOL`, relayed on
 * `ACK_RELAY_PROTOCOL` when there is no connection), and commits to the members
 * (`COMMIT_PROTOCOL`). One hop, where gossip floods the whole tenant, every agent handling every
 * message. A send that fails, or is not through in time, is for the caller to gossip instead.
 */
export class CouncilStreams {
  private readonly components: CouncilStreamsComponents
  private readonly init: CouncilStreamsInit
  private readonly log: Logger

  constructor(components: CouncilStreamsComponents, init: CouncilStreamsInit) {
    this.components = components
    this.init = init
    this.log = (init.logger ?? silentLogger()).child({ component: 'council-streams' })
  }

  async start(): Promise<void> {
    await this.components.node.handle(C.ACK_PROTOCOL, this.onStream, { runOnLimitedConnection: false })
    await this.components.node.handle(C.ACK_RELAY_PROTOCOL, this.onRelayStream, { runOnLimitedConnection: false })
    await this.components.node.handle(C.COMMIT_PROTOCOL, this.onCommitStream, { runOnLimitedConnection: false })
  }

  async stop(): Promise<void> {
    await this.components.node.unhandle(C.ACK_PROTOCOL)
    await this.components.node.unhandle(C.ACK_RELAY_PROTOCOL)
    await this.components.node.unhandle(C.COMMIT_PROTOCOL)
  }

  /**
   * `send`, given `DIRECT_ACK_HEDGE_MS` to succeed: false when it failed or is still under way by
   * then (a dial to a busy coordinator; it goes on, and the caller gossips the ack as well: the
   * coordinator counts it once), so that a slow dial never holds the round up for long. Without a
   * connection to `peer`, the ack also goes back along the proposal's path, through `via` (the
   * peer the proposal came from), whichever arrives first.
   */
  async sendInTime(peer: string, ack: AckMessage, via?: string): Promise<boolean> {
    const attempts = [this.send(peer, ack)]
    if (via !== undefined && via !== peer && !this.connected(peer)) {
      attempts.push(
        this.relay(via, { type: 'relayed-ack', to: peer, signer: this.components.node.peerId.toString(), hops: 1, ack })
      )
    }
    return await within(firstTrue(attempts), C.DIRECT_ACK_HEDGE_MS, () => false)
  }

  /**
   * Send `ack` to `peer` (dialling it if need be: the connection then serves the council's later
   * rounds too); false when that failed.
   */
  async send(peer: string, ack: AckMessage): Promise<boolean> {
    try {
      // The protocol is selected optimistically, in the same write as the ack: traced at 100
      // agents on 2 cores, negotiating first took a busy coordinator's round trip (about 160 ms)
      // before the ack could leave. To an agent that does not speak the protocol (an earlier
      // version) the read in `deliver` fails, and the caller gossips the ack. A dial gets longer
      // than the ack: the caller gossips the ack after its hedge anyway, and the connection, once
      // up, carries the council's later rounds.
      await this.deliver(peer, C.ACK_PROTOCOL, encodeJson(ack), C.DIRECT_ACK_DIAL_TIMEOUT_MS, C.MAX_DIRECT_ACK_BYTES)
      return true
    } catch (err) {
      this.log.debug({ peer, err: (err as Error).message }, 'direct ack failed; gossiping it')
      return false
    }
  }

  /**
   * Pass `relayed` to `peer` over a connection already open (a relay never dials: that is the
   * slow step it routes around); true once `peer` and the relays after it passed it on, or
   * counted it.
   */
  async relay(peer: string, relayed: RelayedAck): Promise<boolean> {
    if (!this.connected(peer)) return false
    try {
      // The far end closes the stream once the ack is counted or passed on, and resets it when it could not.
      await this.deliver(
        peer,
        C.ACK_RELAY_PROTOCOL,
        encodeJson(relayed),
        C.DIRECT_ACK_TIMEOUT_MS,
        C.MAX_DIRECT_ACK_BYTES
      )
      return true
    } catch (err) {
      this.log.debug({ peer, signer: relayed.signer, err: (err as Error).message }, 'relaying an ack failed')
      return false
    }
  }

  /**
   * Hand `commit` to each of `peers` over a connection already open; resolves once every one of
   * them applied it, or could not take it, or after `waitMs`, whichever comes first: the caller
   * gossips the commit then, and a member that did not take it directly learns it from there.
   * Resolves to how many applied it.
   */
  async sendCommit(peers: string[], commit: CommitMessage, waitMs: number): Promise<number> {
    let taken = 0
    // Encoded once for all of them.
    const bytes = encodeJson(commit)
    const sends = peers.map(async peer => {
      if (!this.connected(peer)) return
      try {
        await this.deliver(peer, C.COMMIT_PROTOCOL, bytes, C.DIRECT_ACK_TIMEOUT_MS, C.MAX_COUNCIL_MESSAGE_BYTES)
        taken++
      } catch (err) {
        this.log.debug(
          { peer, council: commit.council.id, epoch: commit.epoch, err: (err as Error).message },
          'direct commit failed'
        )
      }
    })
    await within(Promise.all(sends), waitMs, () => [])
    return taken
  }

  /**
   * Write `message` (one encoded message) on a new `protocol` stream to `peer`, and wait until the far end closes it
   * (it writes nothing back); throws when that fails. Reading also completes the optimistic
   * protocol selection: it throws when the protocol was refused.
   */
  private async deliver(
    peer: string,
    protocol: string,
    message: Uint8Array,
    dialTimeoutMs: number,
    maxBytes: number
  ): Promise<void> {
    const stream = await this.components.node.dialProtocol(peerIdFromString(peer), protocol, {
      signal: AbortSignal.timeout(dialTimeoutMs),
      negotiateFully: false
    })
    const signal = AbortSignal.timeout(C.DIRECT_ACK_TIMEOUT_MS)
    const onTimeout = (): void => {
      stream.abort(new DeadlineError(`${protocol} timed out`))
    }
    signal.addEventListener('abort', onTimeout, { once: true })
    try {
      await lpStream(stream, { maxDataLength: maxBytes }).write(message, { signal })
      await stream.closeWrite({ signal })
      for await (const chunk of stream.source) {
        if (chunk.byteLength > 0) throw new ProtocolError(`unexpected reply on ${protocol}`)
      }
      await stream.close({ signal })
    } finally {
      signal.removeEventListener('abort', onTimeout)
    }
  }

  /**
   * Open a connection to `peer` if there is none (in the background: the caller does not wait),
   * so that the council's next round finds it. Failures are only logged: the round dials again.
   */
  connect(peer: string): void {
    if (this.connected(peer)) return
    const failed = (err: Error): void => {
      this.log.debug({ peer, err: err.message }, 'connecting to the coordinator failed')
    }
    try {
      void this.components.node
        .dial(peerIdFromString(peer), { signal: AbortSignal.timeout(C.DIRECT_ACK_DIAL_TIMEOUT_MS) })
        .catch(failed)
    } catch (err) {
      failed(err as Error)
    }
  }

  /** Whether this agent has an open connection to `peer`. */
  connected(peer: string): boolean {
    try {
      return this.components.node.getConnections(peerIdFromString(peer)).some(c => c.status === 'open')
    } catch {
      return false
    }
  }

  /** Relayed acks: counted here, or passed on (see `ACK_RELAY_PROTOCOL`); a reset tells the sender it was not. */
  private readonly onRelayStream = this.serve(
    relayedAckSchema,
    C.MAX_DIRECT_ACK_BYTES,
    'relayed ack',
    async (from, relayed) => {
      // Checked before routing, which uses up the signer's one relay here: the next agent would refuse a longer path.
      if (relayed.to !== this.components.node.peerId.toString() && relayed.hops >= C.MAX_ACK_RELAY_HOPS) {
        throw new ProtocolError('too many hops')
      }
      const route = await this.init.onRelayedAck(from, relayed)
      if (route === 'dropped') throw new ProtocolError('dropped')
      if (route === 'counted') return
      const next = route.next.find(peer => peer !== from && peer !== relayed.signer && this.connected(peer))
      if (next === undefined) throw new ProtocolError('no way on')
      if (!(await this.relay(next, { ...relayed, hops: relayed.hops + 1 }))) {
        throw new ProtocolError('passing it on failed')
      }
    }
  )

  /** Direct acks, counted before the stream closes. */
  private readonly onStream = this.serve(
    councilMessageSchema,
    C.MAX_DIRECT_ACK_BYTES,
    'direct ack',
    async (from, message) => {
      if (message.type !== 'ack') throw new ProtocolError(`a ${message.type} is no ack`)
      await this.init.onAck(from, message)
    }
  )

  /** Commits from a coordinator, applied before the stream closes. */
  private readonly onCommitStream = this.serve(
    councilMessageSchema,
    C.MAX_COUNCIL_MESSAGE_BYTES,
    'direct commit',
    async (from, message) => {
      if (message.type !== 'commit') throw new ProtocolError(`a ${message.type} is no commit`)
      await this.init.onCommit(from, message)
    }
  )

  /**
   * A stream handler that reads one message of `schema` (at most `maxBytes`), hands it to
   * `handle` with the stream's authenticated peer, then closes the stream; anything that fails
   * resets it, which is how the sender learns it was not taken (and relies on gossip instead).
   */
  private serve<T>(
    schema: ZodType<T>,
    maxBytes: number,
    what: string,
    handle: (from: string, message: T) => Promise<void>
  ): (data: IncomingStreamData) => void {
    return ({ stream, connection }) => {
      const from = connection.remotePeer.toString()
      const signal = AbortSignal.timeout(C.DIRECT_ACK_TIMEOUT_MS)
      void (async () => {
        try {
          const message = decodeJson(
            (await lpStream(stream, { maxDataLength: maxBytes }).read({ signal })).subarray(),
            schema
          )
          if (message === undefined) throw new ProtocolError('malformed')
          await handle(from, message)
          await stream.close({ signal })
        } catch (err) {
          stream.abort(err as Error)
          this.log.debug({ peer: from, err: (err as Error).message }, `${what} not taken`)
        }
      })()
    }
  }
}

/** True once any of `attempts` is; false when all were false. */
async function firstTrue(attempts: Array<Promise<boolean>>): Promise<boolean> {
  return await new Promise(resolve => {
    let left = attempts.length
    for (const attempt of attempts) {
      void attempt.then(ok => {
        left--
        if (ok) resolve(true)
        else if (left === 0) resolve(false)
      })
    }
  })
}
