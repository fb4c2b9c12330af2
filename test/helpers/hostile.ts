/**
 * A hostile peer: a real libp2p node (the same stack as an agent) running test code instead of
 * Conclave's validators, able to publish anything, forge signatures and record what it receives.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Message } from '@libp2p/interface'
import type { Agent } from '../../src/agent/index.js'
import { createConclaveNode, type ConclaveLibp2p } from '../../src/node/index.js'
import { seal } from '../../src/tenancy/crypto.js'
import { encodeEnvelope, encodeHeader, type Credential, type EnvelopeHeader } from '../../src/tenancy/index.js'
import { waitFor } from './wait.js'

export interface Hostile {
  node: ConclaveLibp2p
  peerId: string
  /** Every gossip message this node received, on any topic. */
  received: Message[]
  /** Publish raw bytes, signed by this node (a valid gossip signature). */
  publish(topic: string, data: Uint8Array): Promise<void>
  /** Publish with the gossip signature corrupted in flight. */
  publishForged(topic: string, data: Uint8Array): Promise<void>
  /** Topics its peers announced subscriptions to. */
  seenTopics: Set<string>
  /** Subscribe to every topic its peers announce (an eavesdropper learns topics from subscriptions). */
  subscribeToEverything(): void
  stop(): Promise<void>
}

/**
 * Start a hostile node connected to `target` (and dialling `others` too, as an attacker that
 * found them would), and wait until `target` and it know each other's subscriptions to `topic`.
 */
export async function startHostile(target: Agent, topic: string, others: Agent[] = []): Promise<Hostile> {
  const privateKey = await generateKeyPair('Ed25519')
  const node = await createConclaveNode({
    privateKey,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: target.node.getMultiaddrs().map(String),
    mdns: false,
    maxConnections: 2 + others.length
  })
  const received: Message[] = []
  const pubsub = node.services.pubsub
  pubsub.addEventListener('message', evt => {
    received.push(evt.detail)
  })
  // Topics learned from peers' subscription announcements (gossip sends them to every peer).
  const seenTopics = new Set<string>()
  let eavesdropping = false
  const onSubscriptions = (evt: CustomEvent<{ subscriptions: Array<{ topic: string; subscribe: boolean }> }>): void => {
    for (const s of evt.detail.subscriptions) {
      if (!s.subscribe) continue
      seenTopics.add(s.topic)
      if (eavesdropping && !pubsub.getTopics().includes(s.topic)) pubsub.subscribe(s.topic)
    }
  }
  pubsub.addEventListener('subscription-change', onSubscriptions)
  pubsub.subscribe(topic)
  const peerId = peerIdFromPrivateKey(privateKey).toString()
  for (const other of others) if (other !== target) await node.dial(other.node.getMultiaddrs()).catch(() => {})
  await waitFor(
    () =>
      pubsub.getSubscribers(topic).some(p => p.equals(target.node.peerId)) &&
      target.node.services.pubsub.getSubscribers(topic).some(p => p.toString() === peerId),
    { timeoutMs: 15_000, message: 'hostile node did not join the topic' }
  )
  const raw = pubsub as unknown as {
    sendRpc: (id: unknown, rpc: { messages?: Array<{ signature?: Uint8Array }> }) => boolean
  }
  return {
    node,
    peerId,
    received,
    publish: async (t, data) => {
      await pubsub.publish(t, data)
    },
    publishForged: async (t, data) => {
      const original = raw.sendRpc.bind(pubsub)
      raw.sendRpc = (id, rpc) => {
        for (const m of rpc.messages ?? []) {
          if (m.signature !== undefined) m.signature = m.signature.map((b, i) => (i === 0 ? b ^ 0xff : b))
        }
        return original(id, rpc)
      }
      try {
        await pubsub.publish(t, data)
      } finally {
        raw.sendRpc = original
      }
    },
    subscribeToEverything: () => {
      eavesdropping = true
      for (const t of seenTopics) if (!pubsub.getTopics().includes(t)) pubsub.subscribe(t)
    },
    seenTopics,
    stop: async () => {
      pubsub.removeEventListener('subscription-change', onSubscriptions)
      await node.stop()
    }
  }
}

export interface CraftOptions {
  tenant: string
  channel: string
  sender: string
  payload: Uint8Array
  /** Seal under this key (any 32 bytes); plaintext body when absent. */
  key?: Uint8Array
  epoch?: number
  seq?: number
  session?: number
  ts?: number
  role?: string
  credential?: Credential
  ref?: string
}

/** An envelope built by hand, the way modified code would. */
export function craftEnvelope(o: CraftOptions): Uint8Array {
  const header: EnvelopeHeader = {
    t: o.tenant,
    c: o.channel,
    s: o.sender,
    i: o.session ?? Date.now(),
    q: o.seq ?? 1,
    ts: o.ts ?? Date.now(),
    e: o.epoch ?? 1
  }
  if (o.role !== undefined) header.r = o.role
  if (o.credential !== undefined) header.k = o.credential
  if (o.ref !== undefined) header.f = o.ref
  const aad = encodeHeader(header)
  return encodeEnvelope(aad, o.key === undefined ? o.payload : seal(o.key, o.payload, aad))
}
