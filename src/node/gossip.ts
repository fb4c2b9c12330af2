/**
 * The only module that imports gossipsub, so that moving to another libp2p line is a one-file
 * change. Everything else talks to the `PubSub` interface of `@libp2p/interface`.
 */
import { gossipsub } from '@chainsafe/libp2p-gossipsub'
import type { PubSub } from '@libp2p/interface'
import { toString } from 'uint8arrays'
import type { GossipTraffic } from './gossip-traffic.js'
import { GOSSIP_MESH_DEGREE } from './constants.js'

export { GOSSIP_MESH_DEGREE }

/** Gossipsub's protocols (floodsub is off). */
export const GOSSIP_PROTOCOLS = ['/meshsub/1.2.0', '/meshsub/1.1.0', '/meshsub/1.0.0']

/**
 * Bytes gossipsub may queue for one peer that does not read; past it, messages to that peer are
 * dropped (gossip repairs them through IHAVE/IWANT once it reads again) instead of growing the
 * queue without bound while its event loop is stalled.
 */
export const GOSSIP_MAX_OUTBOUND_BUFFER_BYTES = 8 * 1024 * 1024

export interface GossipInit {
  /**
   * Topics the node accepts at all; messages on other topics are dropped before validation.
   *
   * @default undefined (any topic)
   */
  allowedTopics?: string[]
  /**
   * Mesh degree: target, low and high watermarks of peers each topic's mesh keeps.
   *
   * @default { D: 6, Dlo: 4, Dhi: 8 } (GOSSIP_MESH_DEGREE)
   */
  mesh?: { D: number; Dlo: number; Dhi: number }
  /**
   * Counts RPCs, bytes and messages sent and received (exported as metrics, read by benchmarks).
   *
   * @default not counted
   */
  traffic?: GossipTraffic
}

/**
 * IDONTWANT (gossipsub 1.2) costs one control message per mesh peer for every message received;
 * for our ~1.6 KB presence messages that doubled the packets on the wire (17.7k vs 7.1k noise
 * packets/s at 34 agents) to save bytes that cost less than the packets. Only big messages use it.
 */
export const IDONTWANT_MIN_BYTES = 16 * 1024

/**
 * Gossipsub tuned for agent meshes:
 * - the IP colocation penalty is off: 34 replicas behind one host, NAT or loopback would
 *   otherwise score each other below the graylist threshold (weight -5 past 10 peers per IP) and
 *   publish would reach nobody; peer identity, not IP, is what we trust;
 * - publishing with no subscribed peers is not an error (an agent alone is a valid state);
 * - messages are StrictSign (the default), so `msg.from` is authenticated;
 * - a fast message id (sender + seqno, the same identity as the StrictSign message id) lets
 *   gossipsub drop the D-1 duplicate copies of a message *before* verifying their signatures.
 *   Without it every copy is verified: profiled at 34 agents, 91% of all signature checks were
 *   such duplicates. The cache entry is only written after a copy validated, so a forged copy
 *   cannot shadow the real one.
 */
export function gossip(init: GossipInit = {}): (components: any) => PubSub {
  return gossipsub({
    allowPublishToZeroTopicPeers: true,
    emitSelf: false,
    fallbackToFloodsub: false,
    maxOutboundBufferSize: GOSSIP_MAX_OUTBOUND_BUFFER_BYTES,
    ...(init.mesh ?? GOSSIP_MESH_DEGREE),
    Dout: Math.min(2, Math.floor((init.mesh ?? GOSSIP_MESH_DEGREE).D / 2)),
    idontwantMinDataSize: IDONTWANT_MIN_BYTES,
    fastMsgIdFn: msg =>
      `${toString(msg.from ?? new Uint8Array(), 'base64')}:${toString(msg.seqno ?? new Uint8Array(), 'base64')}`,
    ...(init.allowedTopics !== undefined ? { allowedTopics: init.allowedTopics } : {}),
    ...(init.traffic !== undefined
      ? { metricsRegister: init.traffic.register() as never, metricsTopicStrToLabel: new Map<string, string>() }
      : {}),
    scoreParams: {
      IPColocationFactorWeight: 0,
      IPColocationFactorThreshold: 1_000
    }
  }) as unknown as (components: any) => PubSub
}

/**
 * Score a topic so that validation rejections on it count against the peer that delivered them
 * (gossipsub scores no topic by default, so `Reject` would cost an attacker nothing).
 *
 * Only P4 (invalid deliveries) is weighted: squared, so ~9 rejected messages in a short time put
 * a peer below the graylist threshold (-80), while a few stray ones (a relay that had not yet
 * heard of a revocation) decay away (half-life ~14 s). Mesh-delivery deficits (P3) are not
 * penalised: tenant channels are quiet for long periods, and quiet must not look like misbehaviour.
 */
export function scoreTopic(pubsub: PubSub, topic: string): void {
  const params = (pubsub as unknown as { score?: { params?: { topics?: Record<string, unknown> } } }).score?.params
  if (params?.topics === undefined || params.topics[topic] !== undefined) return
  params.topics[topic] = {
    topicWeight: 1,
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1_000,
    timeInMeshCap: 100,
    firstMessageDeliveriesWeight: 0.1,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 50,
    meshMessageDeliveriesWeight: 0,
    meshMessageDeliveriesDecay: 0.5,
    meshMessageDeliveriesCap: 100,
    meshMessageDeliveriesThreshold: 1,
    meshMessageDeliveriesWindow: 10,
    meshMessageDeliveriesActivation: 5_000,
    meshFailurePenaltyWeight: 0,
    meshFailurePenaltyDecay: 0.5,
    invalidMessageDeliveriesWeight: -1,
    invalidMessageDeliveriesDecay: 0.95
  }
}

/** Gossipsub's thresholds: a peer scoring below `graylist` has its RPCs ignored. */
export const GOSSIP_GRAYLIST_THRESHOLD = -80

/** The gossipsub score this node gives `peerId`. */
export function gossipScore(pubsub: PubSub, peerId: string): number {
  return (pubsub as unknown as { getScore: (id: string) => number }).getScore(peerId)
}

/** The peers in this node's gossipsub mesh for `topic`. */
export function meshPeers(pubsub: PubSub, topic: string): string[] {
  return (pubsub as unknown as { getMeshPeers: (topic: string) => string[] }).getMeshPeers(topic)
}

/**
 * Whether a topic this node subscribes to has no mesh at all, and no connected subscriber left to
 * graft: every one pruned this node (it holds them in backoff). A peer whose mesh is full (`Dhi`)
 * refuses grafts over connections it did not dial, and its prune holds the grafter off for a
 * minute. An agent that dialled all its connections (a late joiner at its cap) to peers whose
 * meshes were full is then cut off from the topic's mesh until one of them changes; only a new
 * connection gives it another chance (see the auto-dialer). A mesh below its low watermark with
 * nobody left to graft is not counted: at a late joiner it is common and it still forwards.
 */
export function meshStarved(pubsub: PubSub, now = Date.now()): boolean {
  return pubsub.getTopics().some(topic => {
    if (meshPeers(pubsub, topic).length > 0) return false
    const subscribers = pubsub.getSubscribers(topic)
    const pruned = new Set(prunedBy(pubsub, topic, now))
    return subscribers.length > 0 && subscribers.every(p => pruned.has(p.toString()))
  })
}

/** The peers that pruned this node from the mesh of `topic` and still hold it off (gossipsub's backoff). */
export function prunedBy(pubsub: PubSub, topic: string, now = Date.now()): string[] {
  const backoff = (pubsub as unknown as { backoff?: Map<string, Map<string, number>> }).backoff?.get(topic)
  return [...(backoff ?? [])].filter(([, until]) => until > now).map(([peer]) => peer)
}
