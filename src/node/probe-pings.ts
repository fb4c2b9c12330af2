/**
 * Membership's pings, on one long-lived stream per peer. libp2p's ping opens a stream for every
 * ping (a protocol negotiation and a close, each frame through noise and yamux); at one probe a
 * second per agent those streams were most of an idle agent's CPU. Here a ping is one small frame
 * out and its echo back on a stream kept for as long as the connection lives, as gossipsub keeps
 * its own.
 *
 * Frames are fixed-size and read straight off the stream's source and written through one
 * pushable into its sink: no length prefix, no byte-stream adapter, no signal raced per read.
 * In a profile of 100 idle agents those adapters held about a tenth of the busy time.
 */
import { performance } from 'node:perf_hooks'
import type { IncomingStreamData, PeerId, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { pushable, type Pushable } from 'it-pushable'
import { Uint8ArrayList } from 'uint8arraylist'
import { silentLogger, type Logger } from '../logger/index.js'
import { ProtocolError } from '../util/errors.js'
import { PROBE_PING_PROTOCOL as PING_PROTOCOL } from './constants.js'

/** A ping frame: a 32-bit sequence number, echoed as it came. */
const FRAME_BYTES = 4
/** Lines a ping may use: the one it found, and a fresh one if that one broke under it. */
const MAX_LINES_PER_PING = 2
/** Streams of this protocol per connection and direction: one is used, one more may be closing. */
const MAX_STREAMS = 2

export interface ProbePingsInit {
  /**
   * Structured logger.
   *
   * @default silent
   */
  logger?: Logger
}

export interface ProbePingsComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
}

export interface ProbePings {
  /**
   * Ping `peer` (dialling it if needed) and resolve to the round trip in ms. Rejects with the
   * signal's reason when it aborts first, or with the dial's or the stream's error.
   */
  ping(peer: PeerId, options?: { signal?: AbortSignal }): Promise<number>
}

interface Line {
  stream: Stream
  /** What is pushed here goes out on the stream, one frame each. */
  out: Pushable<Uint8Array>
  /** Why the line was dropped: a ping that finds it dropped fails at once. */
  failure?: Error
  /** Pings awaiting their echo, by sequence number: answered, or failed with the line. */
  waiting: Map<number, { echoed: () => void; failed: (err: Error) => void }>
}

class DefaultProbePings implements ProbePings, Startable {
  private readonly components: ProbePingsComponents
  private readonly log: Logger
  private readonly lines = new Map<string, Promise<Line>>()
  private seq = 0

  constructor(components: ProbePingsComponents, init: ProbePingsInit) {
    this.components = components
    this.log = (init.logger ?? silentLogger()).child({ component: 'probe-pings' })
  }

  readonly [Symbol.toStringTag] = 'conclave:probe-pings'

  async start(): Promise<void> {
    await this.components.registrar.handle(PING_PROTOCOL, this.onStream, {
      maxInboundStreams: MAX_STREAMS,
      maxOutboundStreams: MAX_STREAMS,
      runOnLimitedConnection: false
    })
  }

  async stop(): Promise<void> {
    await this.components.registrar.unhandle(PING_PROTOCOL)
    const lines = [...this.lines.values()]
    this.lines.clear()
    for (const line of lines) {
      void line.then(
        l => l.stream.abort(new ProtocolError('stopping')),
        () => {}
      )
    }
  }

  async ping(peer: PeerId, options: { signal?: AbortSignal } = {}): Promise<number> {
    const started = performance.now()
    const signal = options.signal ?? AbortSignal.timeout(10_000)
    for (let attempt = 1; ; attempt++) {
      // A line being opened is shared with the ping that opened it, and with that ping's
      // deadline: each ping still keeps its own.
      const line = await untilAborted(this.line(peer, signal), signal)
      try {
        await this.send(line, signal)
        return performance.now() - started
      } catch (err) {
        if (signal.aborted) {
          // A ping that got no echo leaves the line in doubt: the next one opens a fresh stream,
          // as a ping of its own would.
          this.drop(peer.toString(), line, err as Error)
          throw err
        }
        // The line broke under the ping (its connection closed, say on purpose by either side):
        // that says nothing of the peer, so the ping goes out again on a fresh line, whose dial
        // answers for the peer. Once only: a peer that breaks every line fails the ping.
        if (attempt >= MAX_LINES_PER_PING) throw err
      }
    }
  }

  /** Send one ping on `line`; resolves with its echo, rejects with the deadline or the line's failure. */
  private async send(line: Line, signal: AbortSignal): Promise<void> {
    this.seq = (this.seq + 1) >>> 0
    const seq = this.seq
    const frame = new Uint8Array(FRAME_BYTES)
    new DataView(frame.buffer).setUint32(0, seq)
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        line.waiting.delete(seq)
        reject(signal.reason)
      }
      if (signal.aborted) return onAbort()
      if (line.failure !== undefined) return reject(line.failure)
      signal.addEventListener('abort', onAbort, { once: true })
      line.waiting.set(seq, {
        echoed: () => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        },
        failed: err => {
          signal.removeEventListener('abort', onAbort)
          reject(err)
        }
      })
      line.out.push(frame)
    })
  }

  /** The open line to `peer`, or a new one. */
  private async line(peer: PeerId, signal: AbortSignal): Promise<Line> {
    const key = peer.toString()
    let line = this.lines.get(key)
    if (line === undefined) {
      line = this.open(peer, signal)
      this.lines.set(key, line)
      line.catch(() => {
        if (this.lines.get(key) === line) this.lines.delete(key)
      })
    }
    return await line
  }

  private async open(peer: PeerId, signal: AbortSignal): Promise<Line> {
    const connection = await this.components.connectionManager.openConnection(peer, { signal })
    const stream = await connection.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: false })
    const line: Line = { stream, out: pushable(), waiting: new Map() }
    stream.sink(line.out).catch((err: Error) => {
      this.drop(peer.toString(), line, err)
    })
    void this.readEchoes(peer.toString(), line)
    return line
  }

  /** Resolve each ping whose echo comes back, until the stream ends. */
  private async readEchoes(key: string, line: Line): Promise<void> {
    try {
      const buffer = new Uint8ArrayList()
      for await (const chunk of line.stream.source) {
        buffer.append(chunk)
        while (buffer.byteLength >= FRAME_BYTES) {
          const seq = buffer.getUint32(0)
          buffer.consume(FRAME_BYTES)
          const ping = line.waiting.get(seq)
          line.waiting.delete(seq)
          ping?.echoed()
        }
      }
      throw new ProtocolError('ping stream ended')
    } catch (err) {
      this.drop(key, line, err as Error)
    }
  }

  private drop(key: string, line: Line, err: Error): void {
    void this.lines.get(key)?.then(
      current => {
        if (current === line) this.lines.delete(key)
      },
      () => {}
    )
    line.failure ??= err
    line.out.end()
    line.stream.abort(err)
    // Pings still waiting on this line will get no echo: they learn it now, not at their deadlines.
    const waiting = [...line.waiting.values()]
    line.waiting.clear()
    for (const ping of waiting) ping.failed(err)
  }

  /** Echo every byte a peer sends, in order, until its stream ends: the pinger reads the frames. */
  private readonly onStream = ({ stream, connection }: IncomingStreamData): void => {
    stream.sink(stream.source).catch((err: Error) => {
      this.log.trace({ peer: connection.remotePeer.toString(), err: err.message }, 'ping stream ended')
      stream.abort(err)
    })
  }
}

/** `promise`, or the signal's reason if it aborts first. */
async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) throw signal.reason
  let onAbort = (): void => {}
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => {
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/** A libp2p service: `services: { probes: probePings() }`. */
export function probePings(init: ProbePingsInit = {}): (components: ProbePingsComponents) => ProbePings {
  return components => new DefaultProbePings(components, init)
}
