/**
 * What gossipsub sends and receives, counted through its metrics hook: RPCs, their bytes, the
 * messages and control entries they carry. Gossipsub registers about a hundred metrics through the
 * hook; only the wire totals below are kept, the rest are no-ops, so counting costs an addition per
 * RPC and nothing at scrape time.
 */

/** Totals since the node started. */
export interface GossipTrafficTotals {
  rpcsSent: number
  rpcsReceived: number
  bytesSent: number
  bytesReceived: number
  /** Published or forwarded messages carried by those RPCs. */
  messagesSent: number
  messagesReceived: number
  /** Control entries sent: IHAVE, IWANT, GRAFT, PRUNE and IDONTWANT. */
  ihaveSent: number
  iwantSent: number
  graftSent: number
  pruneSent: number
  idontwantSent: number
}

const COUNTED: Record<string, keyof GossipTrafficTotals> = {
  gossipsub_rpc_sent_count_total: 'rpcsSent',
  gossipsub_rpc_recv_count_total: 'rpcsReceived',
  gossipsub_rpc_sent_bytes_total: 'bytesSent',
  gossipsub_rpc_recv_bytes_total: 'bytesReceived',
  gossipsub_rpc_sent_message_total: 'messagesSent',
  gossipsub_rpc_recv_message_total: 'messagesReceived',
  gossipsub_rpc_sent_ihave_total: 'ihaveSent',
  gossipsub_rpc_sent_iwant_total: 'iwantSent',
  gossipsub_rpc_sent_graft_total: 'graftSent',
  gossipsub_rpc_sent_prune_total: 'pruneSent',
  gossipsub_rpc_sent_idontwant_total: 'idontwantSent'
}

const noop = (): void => {}
const ignored = { inc: noop, set: noop, addCollect: noop, observe: noop, reset: noop, startTimer: () => noop }

/** Counts one node's gossipsub traffic; hand it to `gossip({ traffic })`. */
export class GossipTraffic {
  private readonly totals: GossipTrafficTotals = {
    rpcsSent: 0,
    rpcsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    messagesSent: 0,
    messagesReceived: 0,
    ihaveSent: 0,
    iwantSent: 0,
    graftSent: 0,
    pruneSent: 0,
    idontwantSent: 0
  }

  /** A copy of the totals. */
  read(): GossipTrafficTotals {
    return { ...this.totals }
  }

  /** Gossipsub's `metricsRegister`: counters for the totals, no-ops for everything else. */
  register(): {
    gauge: (config: { name: string }) => unknown
    histogram: (config: { name: string }) => unknown
    avgMinMax: (config: { name: string }) => unknown
  } {
    const totals = this.totals
    return {
      gauge: ({ name }) => {
        const key = COUNTED[name]
        if (key === undefined) return ignored
        return {
          ...ignored,
          // Gauges without labels are called as inc(value); labelled ones as inc(labels, value).
          inc: (a?: number | object, b?: number) => {
            totals[key] += typeof a === 'number' ? a : (b ?? 1)
          }
        }
      },
      histogram: () => ignored,
      avgMinMax: () => ignored
    }
  }
}
