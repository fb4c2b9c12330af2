import { peerIdFromString } from '@libp2p/peer-id'
import type { IncomingStreamData, Libp2p } from '@libp2p/interface'
import { lpStream } from 'it-length-prefixed-stream'
import { silentLogger, type Logger } from '../logger/index.js'
import { decodeJson, encodeJson } from '../util/json.js'
import * as C from './constants.js'
import { councilMessageSchema, type AckMessage } from './messages.js'

export interface DirectAcksComponents {
  node: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
}

export interface DirectAcksInit {
  /** Called with each ack received, from the stream's authenticated peer. */
  onAck: (from: string, ack: AckMessage) => Promise<void>
  /**
   * Structured logger.
   *
   * @default silent
   */
  logger?: Logger
}

/**
 * Acknowledgements sent to the coordinator over a stream of their own (`ACK_PROTOCOL`): one hop,
 * where a gossiped ack floods the whole tenant, every agent verifying it. A send that fails, or
 * is not through in time, is for the caller to gossip instead.
 */
export class DirectAcks {
  private readonly components: DirectAcksComponents
  private readonly init: DirectAcksInit
  private readonly log: Logger

  constructor (components: DirectAcksComponents, init: DirectAcksInit) {
    this.components = components
    this.init = init
    this.log = (init.logger ?? silentLogger()).child({ component: 'direct-acks' })
  }

  async start (): Promise<void> {
    await this.components.node.handle(C.ACK_PROTOCOL, this.onStream, { runOnLimitedConnection: false })
  }

  async stop (): Promise<void> {
    await this.components.node.unhandle(C.ACK_PROTOCOL)
  }

  /**
   * `send`, given `DIRECT_ACK_HEDGE_MS` to succeed: false when it failed or is still under way by
   * then (a dial to a busy coordinator; it goes on, and the caller gossips the ack as well: the
   * coordinator counts it once), so that a slow dial never holds the round up for long.
   */
  async sendInTime (peer: string, ack: AckMessage): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const slow = new Promise<false>(resolve => { timer = setTimeout(() => { resolve(false) }, C.DIRECT_ACK_HEDGE_MS) })
    try {
      return await Promise.race([this.send(peer, ack), slow])
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * Send `ack` to `peer` (dialling it if need be: the connection then serves the council's later
   * rounds too); false when that failed.
   */
  async send (peer: string, ack: AckMessage): Promise<boolean> {
    try {
      // The protocol is selected optimistically, in the same write as the ack: traced at 100
      // agents on 2 cores, negotiating first took a busy coordinator's round trip (about 160 ms)
      // before the ack could leave. To an agent that does not speak the protocol (an earlier
      // version) the read below fails, and the caller gossips the ack. A dial gets longer than
      // the ack: the caller gossips the ack after its hedge anyway, and the connection, once up,
      // carries the council's later rounds.
      const stream = await this.components.node.dialProtocol(peerIdFromString(peer), C.ACK_PROTOCOL, { signal: AbortSignal.timeout(C.DIRECT_ACK_DIAL_TIMEOUT_MS), negotiateFully: false })
      const signal = AbortSignal.timeout(C.DIRECT_ACK_TIMEOUT_MS)
      const onTimeout = (): void => { stream.abort(new Error('direct ack timed out')) }
      signal.addEventListener('abort', onTimeout, { once: true })
      try {
        await lpStream(stream, { maxDataLength: C.MAX_DIRECT_ACK_BYTES }).write(encodeJson(ack), { signal })
        await stream.closeWrite({ signal })
        // Reading completes the selection (it throws when the protocol was refused); the
        // coordinator writes nothing back, so the read ends when it closes the stream, ack read.
        for await (const chunk of stream.source) if (chunk.byteLength > 0) throw new Error('unexpected reply to a direct ack')
        await stream.close({ signal })
      } finally {
        signal.removeEventListener('abort', onTimeout)
      }
      return true
    } catch (err) {
      this.log.debug({ peer, err: (err as Error).message }, 'direct ack failed; gossiping it')
      return false
    }
  }

  private readonly onStream = ({ stream, connection }: IncomingStreamData): void => {
    const from = connection.remotePeer.toString()
    const signal = AbortSignal.timeout(C.DIRECT_ACK_TIMEOUT_MS)
    void (async () => {
      try {
        const message = decodeJson((await lpStream(stream, { maxDataLength: C.MAX_DIRECT_ACK_BYTES }).read({ signal })).subarray(), councilMessageSchema)
        await stream.close({ signal })
        if (message?.type !== 'ack') {
          this.log.debug({ peer: from }, 'malformed direct ack dropped')
          return
        }
        await this.init.onAck(from, message)
      } catch (err) {
        stream.abort(err as Error)
        this.log.debug({ peer: from, err: (err as Error).message }, 'receiving a direct ack failed')
      }
    })()
  }
}
