/**
 * Tenant isolation against a hostile peer: a real libp2p node running test code, connected to
 * tenant acme's agents, tries every attack of issue #3. For each one acme accepts nothing, keeps
 * running, rejects for the expected reason, and honest traffic is still delivered in full.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import type { Message } from '@libp2p/interface'
import { lpStream } from 'it-length-prefixed-stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Agent } from '../src/agent/index.js'
import { SYNC_PROTOCOL } from '../src/membership/constants.js'
import { GOSSIP_GRAYLIST_THRESHOLD, gossipScore } from '../src/node/gossip.js'
import { Sim } from '../src/sim/index.js'
import { open } from '../src/tenancy/crypto.js'
import {
  createTenant,
  decodeEnvelope,
  issueCredential,
  topicFor,
  type CredentialFile,
  type TenantMessage
} from '../src/tenancy/index.js'
import { craftEnvelope, startHostile, type Hostile } from './helpers/hostile.js'
import { presenceMeshesConnected, meshConnected } from './helpers/mesh.js'
import { rejected } from './helpers/metrics.js'
import { waitFor } from './helpers/wait.js'
import { apiFetch } from './helpers/api.js'

const CHAT = 'chat'
/** Each tenant's topic: chat travels on it with every other channel. */
const ACME_CHAT = topicFor('acme')
const GLOBEX_CHAT = topicFor('globex')
/** A gossip message of the chat channel on `topic` (the envelope's header names the channel). */
const isChat = (m: Message, topic = ACME_CHAT): boolean =>
  m.topic === topic && decodeEnvelope(m.data)?.header.c === CHAT
const text = (s: string): Uint8Array => new TextEncoder().encode(s)

let sim: Sim
let acme: Agent[]
let globex: Agent[]
let both: Agent
/** Chat messages each agent accepted, by tenant. */
const accepted = new Map<string, TenantMessage[]>()
const hostiles: string[] = []
/** Valid messages hostile members sent on purpose (accepted, as they should be). */
const legit = new Map<string, number>()

const key = (a: Agent, tenant: string): string => `${a.peerId}/${tenant}`
const acceptedBy = (a: Agent, tenant = 'acme'): TenantMessage[] => accepted.get(key(a, tenant)) ?? []
const members = (tenant: string): Agent[] =>
  sim.running.filter(a => a.tenancy.tenants.includes(tenant) && a.tenancy.keyring(tenant)?.selfRevoked !== true)

beforeAll(async () => {
  // 0-3 in acme, 4-5 in globex, 6 in both.
  sim = await Sim.start({
    agents: 7,
    tenants: ['acme', 'globex'],
    tenantsOf: i => (i < 4 ? ['acme'] : i < 6 ? ['globex'] : ['acme', 'globex']),
    overrides: { heartbeatMs: 500 }
  })
  acme = sim.agents.slice(0, 4)
  globex = sim.agents.slice(4, 6)
  both = sim.agents[6] as Agent
  for (const agent of sim.agents) {
    for (const tenant of agent.tenancy.tenants) {
      accepted.set(key(agent, tenant), [])
      agent.tenancy.join(tenant, CHAT, msg => {
        accepted.get(key(agent, tenant))?.push(msg)
        return 'accept'
      })
    }
  }
  await waitFor(
    () =>
      sim.convergedCount() === 7 &&
      presenceMeshesConnected(sim.agents) &&
      meshConnected(members('acme'), ACME_CHAT) &&
      meshConnected(members('globex'), GLOBEX_CHAT),
    { timeoutMs: 60_000, message: 'mesh did not settle' }
  )
})

afterAll(async () => {
  await sim?.stop()
})

/** Every member of `tenant` publishes one chat message; every other member must accept every one. */
async function expectFullDelivery(tenant: string, canary = `canary-${randomBytes(8).toString('hex')}`): Promise<void> {
  const agents = members(tenant)
  const before = new Map(agents.map(a => [a, acceptedBy(a, tenant).length]))
  for (const a of agents) await a.tenancy.join(tenant, CHAT, () => 'accept').publish(text(`${canary} from ${a.peerId}`))
  await waitFor(
    () =>
      agents.every(
        a =>
          acceptedBy(a, tenant)
            .slice(before.get(a))
            .filter(m => new TextDecoder().decode(m.payload).startsWith(canary)).length ===
          agents.length - 1
      ),
    {
      timeoutMs: 15_000,
      message: () =>
        `delivery in ${tenant}: ${agents.map(a => acceptedBy(a, tenant).length - (before.get(a) ?? 0)).join(',')} of ${agents.length - 1} each`
    }
  )
}

/** Every acme member knows the hostile node as a subscriber of `topic`. */
function knownSubscriber(h: Hostile, topic: string): boolean {
  return members('acme').every(a => a.node.services.pubsub.getSubscribers(topic).some(p => p.toString() === h.peerId))
}

async function issueFor(
  peer: string,
  opts: { tenant?: string; roles?: string[]; ttlMs?: number; now?: number } = {}
): Promise<CredentialFile> {
  const tenant = opts.tenant ?? 'acme'
  const authority = sim.authorities.get(tenant)
  if (authority === undefined) throw new Error(`no tenant ${tenant}`)
  const { file, credential } = await issueCredential(authority, {
    peer,
    roles: opts.roles,
    ttlMs: opts.ttlMs ?? 3_600_000,
    now: opts.now
  })
  sim.authorities.set(tenant, file)
  return credential
}

const groupKey = (c: CredentialFile): Uint8Array => Buffer.from(c.groupKey, 'base64')

interface Attack {
  name: string
  /** Rejection reason the victim must count; undefined when gossipsub itself drops the message. */
  reason?: string
  /** Valid messages the attack sends around the invalid ones (a member's first copy). */
  legit?: number
  /** Channel the rejection is counted under: `unknown` when the envelope's header cannot be read. */
  channel?: string
  run(h: Hostile, victim: Agent): Promise<void>
}

const attacks: Attack[] = [
  {
    name: 'forged gossip signature',
    run: async h => {
      await h.publishForged(ACME_CHAT, text('forged'))
    }
  },
  {
    name: 'valid peer signature, no credential',
    reason: 'no-credential',
    run: async h => {
      await h.publish(
        ACME_CHAT,
        craftEnvelope({ tenant: 'acme', channel: CHAT, sender: h.peerId, payload: text('x'), key: randomBytes(32) })
      )
    }
  },
  {
    name: 'tenant B credential on tenant A topic',
    reason: 'wrong-tenant',
    run: async h => {
      const cred = await issueFor(h.peerId, { tenant: 'globex' })
      await h.publish(
        ACME_CHAT,
        craftEnvelope({
          tenant: 'acme',
          channel: CHAT,
          sender: h.peerId,
          payload: text('x'),
          key: groupKey(cred),
          credential: cred.credential
        })
      )
    }
  },
  {
    name: 'credential signed by another authority claiming the same tenant id',
    reason: 'wrong-authority',
    run: async h => {
      const impostor = await createTenant('acme')
      const { credential } = await issueCredential(impostor, { peer: h.peerId, ttlMs: 3_600_000 })
      await h.publish(
        ACME_CHAT,
        craftEnvelope({
          tenant: 'acme',
          channel: CHAT,
          sender: h.peerId,
          payload: text('x'),
          key: groupKey(credential),
          credential: credential.credential
        })
      )
    }
  },
  {
    name: 'credential issued for another peer id (stolen file)',
    reason: 'wrong-peer',
    run: async h => {
      const stolen = acme[1]?.tenancy.keyring('acme')?.credential
      await h.publish(
        ACME_CHAT,
        craftEnvelope({
          tenant: 'acme',
          channel: CHAT,
          sender: h.peerId,
          payload: text('x'),
          key: randomBytes(32),
          credential: stolen
        })
      )
    }
  },
  {
    name: 'expired credential',
    reason: 'expired',
    run: async h => {
      const cred = await issueFor(h.peerId, { now: Date.now() - 7_200_000, ttlMs: 3_600_000 })
      await h.publish(
        ACME_CHAT,
        craftEnvelope({
          tenant: 'acme',
          channel: CHAT,
          sender: h.peerId,
          payload: text('x'),
          key: groupKey(cred),
          epoch: cred.epoch,
          credential: cred.credential
        })
      )
    }
  },
  {
    name: 'not-yet-valid credential',
    reason: 'not-yet-valid',
    run: async h => {
      const cred = await issueFor(h.peerId, { now: Date.now() + 3_600_000 })
      await h.publish(
        ACME_CHAT,
        craftEnvelope({
          tenant: 'acme',
          channel: CHAT,
          sender: h.peerId,
          payload: text('x'),
          key: groupKey(cred),
          epoch: cred.epoch,
          credential: cred.credential
        })
      )
    }
  },
  {
    name: 'role not granted',
    reason: 'role-not-granted',
    run: async h => {
      const cred = await issueFor(h.peerId, { roles: ['coder'] })
      await h.publish(
        ACME_CHAT,
        craftEnvelope({
          tenant: 'acme',
          channel: CHAT,
          sender: h.peerId,
          payload: text('x'),
          key: groupKey(cred),
          epoch: cred.epoch,
          credential: cred.credential,
          role: 'tpm'
        })
      )
    }
  },
  {
    name: 'member with modified code: truncated ciphertext',
    reason: 'decrypt-failed',
    run: async h => {
      const cred = await issueFor(h.peerId)
      const whole = craftEnvelope({
        tenant: 'acme',
        channel: CHAT,
        sender: h.peerId,
        payload: text('x'.repeat(64)),
        key: groupKey(cred),
        epoch: cred.epoch,
        credential: cred.credential
      })
      await h.publish(ACME_CHAT, whole.subarray(0, whole.length - 20))
    }
  },
  {
    name: 'member with modified code: its own envelope twice (replayed sequence)',
    reason: 'replay',
    legit: 1,
    run: async h => {
      const cred = await issueFor(h.peerId)
      const envelope = craftEnvelope({
        tenant: 'acme',
        channel: CHAT,
        sender: h.peerId,
        payload: text('once'),
        key: groupKey(cred),
        epoch: cred.epoch,
        credential: cred.credential,
        seq: 7
      })
      await h.publish(ACME_CHAT, envelope)
      await h.publish(ACME_CHAT, envelope)
    }
  },
  {
    name: 'timestamp outside the skew window',
    reason: 'clock-skew',
    run: async h => {
      const cred = await issueFor(h.peerId)
      await h.publish(
        ACME_CHAT,
        craftEnvelope({
          tenant: 'acme',
          channel: CHAT,
          sender: h.peerId,
          payload: text('x'),
          key: groupKey(cred),
          epoch: cred.epoch,
          credential: cred.credential,
          ts: Date.now() - 600_000
        })
      )
    }
  },
  {
    name: 'random bytes',
    channel: 'unknown',
    reason: 'malformed',
    run: async h => {
      await h.publish(ACME_CHAT, randomBytes(300))
    }
  },
  {
    name: 'truncated envelope header',
    channel: 'unknown',
    reason: 'malformed',
    run: async h => {
      await h.publish(
        ACME_CHAT,
        craftEnvelope({ tenant: 'acme', channel: CHAT, sender: h.peerId, payload: text('x') }).subarray(0, 20)
      )
    }
  },
  {
    name: 'oversized message',
    channel: 'unknown',
    reason: 'oversized',
    run: async h => {
      await h.publish(ACME_CHAT, randomBytes(70 * 1024))
    }
  }
]

describe('tenant isolation against a hostile peer', () => {
  it.each(attacks)('$name: acme accepts nothing, rejects it and keeps running', async attack => {
    const victim = acme[0] as Agent
    const h = await startHostile(victim, ACME_CHAT)
    hostiles.push(h.peerId)
    legit.set(h.peerId, attack.legit ?? 0)
    try {
      const channel = attack.channel ?? CHAT
      const before = attack.reason === undefined ? 0 : await rejected(victim, attack.reason, channel)
      const scoreBefore = gossipScore(victim.node.services.pubsub, h.peerId)
      await attack.run(h, victim)
      if (attack.reason !== undefined) {
        const reason = attack.reason
        await waitFor(async () => (await rejected(victim, reason, channel)) > before, {
          timeoutMs: 10_000,
          message: `victim did not reject for ${reason}`
        })
      }
      // Gossipsub caches scores for a heartbeat: wait for the penalty to show.
      await waitFor(() => gossipScore(victim.node.services.pubsub, h.peerId) < scoreBefore, {
        timeoutMs: 10_000,
        message: "the attack did not lower the attacker's score"
      })
      for (const a of members('acme')) {
        expect(acceptedBy(a).filter(m => m.from === h.peerId)).toHaveLength(attack.legit ?? 0)
      }
      expect((await apiFetch(victim, `/health`)).status).toBe(200)
      await expectFullDelivery('acme')
    } finally {
      await h.stop()
    }
  })

  it("replays of a captured message: as-is (a duplicate), under the attacker's signature, into another tenant, and by its own sender", async () => {
    const victim = acme[0] as Agent
    const h = await startHostile(victim, ACME_CHAT, sim.running)
    hostiles.push(h.peerId)
    try {
      h.node.services.pubsub.subscribe(GLOBEX_CHAT)
      await waitFor(
        () =>
          (globex[0] as Agent).node.services.pubsub.getSubscribers(GLOBEX_CHAT).some(p => p.toString() === h.peerId),
        { timeoutMs: 10_000, message: 'globex does not know the attacker on its chat' }
      )
      await waitFor(() => knownSubscriber(h, ACME_CHAT), {
        timeoutMs: 15_000,
        message: 'members do not know the eavesdropper'
      })
      const sender = acme[2] as Agent
      const seen = h.received.length
      await sender.tenancy.join('acme', CHAT, () => 'accept').publish(text('capture me'))
      await waitFor(
        () => h.received.slice(seen).some(m => isChat(m) && m.type === 'signed' && m.from.toString() === sender.peerId),
        { timeoutMs: 10_000, message: 'nothing captured' }
      )
      const captured = h.received
        .slice(seen)
        .find(m => isChat(m) && m.type === 'signed' && m.from.toString() === sender.peerId) as Message & {
        type: 'signed'
      }
      await waitFor(
        () =>
          acme.every(
            a =>
              a === sender ||
              acceptedBy(a).some(m => m.from === sender.peerId && new TextDecoder().decode(m.payload) === 'capture me')
          ),
        { timeoutMs: 10_000, message: 'original not delivered' }
      )
      const copies = (): number =>
        acceptedBy(victim).filter(m => m.from === sender.peerId && new TextDecoder().decode(m.payload) === 'capture me')
          .length

      // 1. The exact gossip message again (same signature and seqno): a plain duplicate, dropped.
      const rpc = {
        from: captured.from.toMultihash().bytes,
        data: captured.data,
        seqno: bigintBytes(captured.sequenceNumber),
        topic: captured.topic,
        signature: captured.signature,
        key: publicKeyToProtobuf(captured.key)
      }
      ;(h.node.services.pubsub as unknown as { sendRpc: (id: string, rpc: unknown) => boolean }).sendRpc(
        victim.peerId,
        { subscriptions: [], messages: [rpc] }
      )
      // 2. The envelope under the attacker's own gossip signature.
      const mismatch = await rejected(victim, 'sender-mismatch', CHAT)
      await h.publish(ACME_CHAT, captured.data)
      // 3. The envelope copied into the other tenant's topic.
      const wrongTopic = await rejected(globex[0] as Agent, 'wrong-topic', CHAT)
      await h.publish(GLOBEX_CHAT, captured.data)
      // 4. The sender itself (modified code) publishing the same envelope as a new gossip message.
      const replays = await rejected(victim, 'replay', CHAT)
      await sender.node.services.pubsub.publish(ACME_CHAT, captured.data)

      await waitFor(
        async () =>
          (await rejected(victim, 'sender-mismatch', CHAT)) > mismatch &&
          (await rejected(globex[0] as Agent, 'wrong-topic', CHAT)) > wrongTopic &&
          (await rejected(victim, 'replay', CHAT)) > replays,
        { timeoutMs: 10_000, message: 'replays were not all rejected' }
      )
      expect(copies()).toBe(1)
      for (const g of members('globex')) {
        expect(acceptedBy(g, 'globex').filter(m => new TextDecoder().decode(m.payload) === 'capture me')).toHaveLength(
          0
        )
      }
    } finally {
      await h.stop()
    }
  })

  it('an eavesdropper subscribed to every topic it learns sees no plaintext, and sync shows it no view', async () => {
    const victim = acme[0] as Agent
    const h = await startHostile(victim, ACME_CHAT, sim.running)
    hostiles.push(h.peerId)
    try {
      h.subscribeToEverything()
      await waitFor(
        () =>
          [...h.seenTopics].every(t => h.node.services.pubsub.getTopics().includes(t)) &&
          h.seenTopics.has(topicFor('acme')),
        { timeoutMs: 10_000, message: 'eavesdropper did not subscribe' }
      )
      // In the mesh for good: every member knows it as a subscriber (messages published before
      // that would legitimately not reach it).
      await waitFor(() => knownSubscriber(h, ACME_CHAT), {
        timeoutMs: 15_000,
        message: 'members do not know the eavesdropper'
      })
      const canary = `canary-${randomBytes(8).toString('hex')}`
      const start = h.received.length
      await expectFullDelivery('acme', canary)
      // It was in the mesh and got the traffic: every chat message of the round reached it.
      await waitFor(() => h.received.slice(start).filter(m => isChat(m)).length >= members('acme').length, {
        timeoutMs: 10_000,
        message: () =>
          `eavesdropper received ${h.received.slice(start).filter(m => isChat(m)).length} acme chat messages, ${h.received.length} in all; topics ${h.node.services.pubsub.getTopics().join(' ')}`
      })
      const needle = Buffer.from(canary)
      for (const m of h.received) expect(Buffer.from(m.data).includes(needle)).toBe(false)
      // Names travel only inside sealed presence records.
      for (const m of h.received) expect(Buffer.from(m.data).includes(Buffer.from('"name":"agent-'))).toBe(false)

      // Asking for acme's view over the sync protocol, without a credential.
      const refused = await rejected(victim, 'no-credential', 'sync')
      const stream = await h.node.dialProtocol(victim.node.peerId, SYNC_PROTOCOL)
      const lp = lpStream(stream)
      await lp.write(text(JSON.stringify({ tenants: ['acme'], snapshots: [], credentials: {}, states: {} })))
      const reply = JSON.parse(new TextDecoder().decode((await lp.read()).subarray())) as { snapshots: unknown[] }
      await stream.close().catch(() => {})
      expect(reply.snapshots).toEqual([])
      expect(await rejected(victim, 'no-credential', 'sync')).toBeGreaterThan(refused)
    } finally {
      await h.stop()
    }
  })

  it('a flood of invalid messages gets the flooder graylisted, and honest delivery stays at 100%', async () => {
    const victim = acme[0] as Agent
    const h = await startHostile(victim, ACME_CHAT)
    hostiles.push(h.peerId)
    try {
      for (let i = 0; i < 300; i++) await h.publish(ACME_CHAT, randomBytes(200 + (i % 50)))
      await waitFor(() => gossipScore(victim.node.services.pubsub, h.peerId) < GOSSIP_GRAYLIST_THRESHOLD, {
        timeoutMs: 15_000,
        message: () => `score ${gossipScore(victim.node.services.pubsub, h.peerId)}`
      })
      expect((await apiFetch(victim, `/health`)).status).toBe(200)
      await expectFullDelivery('acme')
      await expectFullDelivery('globex')
    } finally {
      await h.stop()
    }
  })

  it('accepted nothing from any hostile peer, on any channel, and shows none of them as a member', () => {
    expect(hostiles.length).toBeGreaterThanOrEqual(attacks.length)
    for (const a of sim.running) {
      for (const tenant of a.tenancy.tenants) {
        for (const h of hostiles) {
          expect(acceptedBy(a, tenant).filter(m => m.from === h).length).toBe(
            tenant === 'acme' ? (legit.get(h) ?? 0) : 0
          )
        }
      }
      expect(a.membership.peers().filter(p => hostiles.includes(p.peerId))).toHaveLength(0)
    }
  })
})

describe('two tenants on one mesh', () => {
  it("each agent's /v1/peers shows only its own tenant; an agent with both credentials sees both", async () => {
    for (const a of [...acme, ...globex]) {
      const tenant = a.tenancy.tenants[0] as string
      const peers = (await (await apiFetch(a, `/v1/peers`)).json()) as Array<{
        peerId: string
        tenant: string
        state: string
      }>
      const expected = members(tenant)
        .filter(b => b !== a)
        .map(b => b.peerId)
        .sort()
      expect(peers.every(p => p.tenant === tenant)).toBe(true)
      expect(
        peers
          .filter(p => p.state === 'alive')
          .map(p => p.peerId)
          .sort()
      ).toEqual(expected)
    }
    const peers = (await (await apiFetch(both, `/v1/peers`)).json()) as Array<{ peerId: string; tenant: string }>
    const seen = (tenant: string): string[] =>
      peers
        .filter(p => p.tenant === tenant)
        .map(p => p.peerId)
        .sort()
    expect(seen('acme')).toEqual(acme.map(a => a.peerId).sort())
    expect(seen('globex')).toEqual(globex.map(a => a.peerId).sort())
    const self = (await (await apiFetch(both, `/v1/self`)).json()) as { tenants: string[] }
    expect(self.tenants.sort()).toEqual(['acme', 'globex'])
  })

  it('each tenant is one gossipsub topic, whatever channels an agent joined', () => {
    for (const a of sim.running) {
      expect(a.node.services.pubsub.getTopics().sort(), a.config.name).toEqual(a.tenancy.tenants.map(topicFor).sort())
    }
  })

  it('a member passes on a valid message of a channel it does not read, and its handlers never see it', async () => {
    const [sender, reader, bystander] = acme as [Agent, Agent, Agent]
    const UNREAD = 'unread-here'
    const read: string[] = []
    const channel = sender.tenancy.join('acme', UNREAD, () => 'accept')
    reader.tenancy.join('acme', UNREAD, msg => {
      read.push(new TextDecoder().decode(msg.payload))
      return 'accept'
    })
    // The bystander joined no such channel. Gossipsub emits a message only once its validator
    // accepted it, and forwards exactly the accepted ones to the bystander's mesh peers.
    const passedOn: string[] = []
    const listener = (evt: CustomEvent<Message>): void => {
      const m = evt.detail
      if (m.topic !== ACME_CHAT || m.type !== 'signed' || m.from.toString() !== sender.peerId) return
      if (decodeEnvelope(m.data)?.header.c === UNREAD) passedOn.push(m.topic)
    }
    bystander.node.services.pubsub.addEventListener('message', listener)
    const rejectedBefore = await rejected(bystander, 'malformed')
    const chatBefore = acceptedBy(bystander).length
    try {
      await channel.publish(text('for readers of this channel only'))
      await waitFor(() => passedOn.length > 0 && read.length > 0, {
        timeoutMs: 10_000,
        message: () => `accepted by the bystander: ${passedOn.length}; read by the reader: ${read.length}`
      })
      expect(read).toEqual(['for readers of this channel only'])
      expect(acceptedBy(bystander).length).toBe(chatBefore)
      expect(await rejected(bystander, 'malformed')).toBe(rejectedBefore)
    } finally {
      bystander.node.services.pubsub.removeEventListener('message', listener)
      sender.tenancy.leave(channel)
    }
  })
})

describe('key rotation and revocation', () => {
  it('rejects a state not signed by the authority', async () => {
    const forged = {
      body: Buffer.from(
        JSON.stringify({ v: 1, tenant: 'acme', epoch: 99, issuedAt: Date.now(), revoked: [acme[0]?.peerId], keys: {} })
      ).toString('base64'),
      sig: Buffer.from(randomBytes(64)).toString('base64')
    }
    const res = await apiFetch(acme[1] as Agent, `/v1/tenants/acme/state`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(forged)
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: string }).error).toMatch(
      /not a state of tenant acme signed by its authority/
    )
    const notJson = await apiFetch(acme[1] as Agent, `/v1/tenants/acme/state`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'nope'
    })
    expect(notJson.status).toBe(400)
    const otherTenant = await apiFetch(acme[1] as Agent, `/v1/tenants/globex/state`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}'
    })
    expect(otherTenant.status).toBe(404)
    expect(acme[1]?.tenancy.keyring('acme')?.epoch).toBe(1)
  })

  it('after revocation the revoked agent can neither inject nor read, and the rest carry on under the new key', async () => {
    const revoked = acme[3] as Agent
    const rest = members('acme').filter(a => a !== revoked)
    const oldKey = revoked.tenancy.keyring('acme')?.currentKey()
    expect(oldKey?.epoch).toBe(1)
    const state = await sim.rotate('acme', [revoked.peerId])
    const res = await apiFetch(acme[0] as Agent, `/v1/tenants/acme/state`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(state)
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ result: 'adopted' })
    await waitFor(
      () =>
        rest.every(
          a =>
            a.tenancy.keyring('acme')?.epoch === 2 &&
            a.membership.peers().find(p => p.peerId === revoked.peerId && p.tenant === 'acme')?.state === 'left'
        ),
      {
        timeoutMs: 15_000,
        message: () => `epochs ${rest.map(a => a.tenancy.keyring('acme')?.epoch).join(',')}`
      }
    )
    await waitFor(() => revoked.tenancy.keyring('acme')?.selfRevoked === true, {
      timeoutMs: 10_000,
      message: 'revoked agent did not learn of it'
    })
    // Members keep the state across restarts.
    const statePath = join((acme[0] as Agent).config.dataDir, 'tenants', 'acme.state.json')
    await waitFor(
      async () =>
        await readFile(statePath, 'utf8').then(
          t => (JSON.parse(t) as { body: string }).body === state.body,
          () => false
        ),
      { timeoutMs: 5_000, message: 'state not saved' }
    )

    // It cannot publish through its runtime any more…
    await expect(revoked.tenancy.join('acme', CHAT, () => 'accept').publish(text('still here?'))).rejects.toMatchObject(
      { name: 'NotATenantMemberError' }
    )
    // …and modified code sealing under the old key with its credential is rejected as revoked.
    const before = await rejected(rest[0] as Agent, 'revoked', CHAT)
    const credential = revoked.tenancy.keyring('acme')?.credential
    await revoked.node.services.pubsub.publish(
      ACME_CHAT,
      craftEnvelope({
        tenant: 'acme',
        channel: CHAT,
        sender: revoked.peerId,
        payload: text('injected'),
        key: oldKey?.key,
        epoch: 1,
        credential
      })
    )
    await waitFor(async () => (await rejected(rest[0] as Agent, 'revoked', CHAT)) > before, {
      timeoutMs: 10_000,
      message: 'injection was not rejected as revoked'
    })
    for (const a of rest) {
      expect(acceptedBy(a).filter(m => new TextDecoder().decode(m.payload) === 'injected')).toHaveLength(0)
    }

    // New traffic is sealed under epoch 2, which the old key cannot open.
    const raw: Message[] = []
    const listener = (evt: CustomEvent<Message>): void => {
      raw.push(evt.detail)
    }
    const observer = rest[0] as Agent
    observer.node.services.pubsub.addEventListener('message', listener)
    try {
      const canary = `canary-${randomBytes(8).toString('hex')}`
      await expectFullDelivery('acme', canary)
      const fromOthers = raw.filter(m => isChat(m))
      expect(fromOthers.length).toBeGreaterThanOrEqual(rest.length - 1)
      for (const m of fromOthers) {
        const envelope = decodeEnvelope(m.data)
        expect(envelope?.header.e).toBe(2)
        expect(Buffer.from(m.data).includes(Buffer.from(canary))).toBe(false)
        if (envelope !== undefined && oldKey !== undefined) {
          expect(open(oldKey.key, envelope.body, envelope.aad)).toBeUndefined()
        }
      }
      expect(acceptedBy(revoked).filter(m => new TextDecoder().decode(m.payload).startsWith(canary))).toHaveLength(0)
    } finally {
      observer.node.services.pubsub.removeEventListener('message', listener)
    }
  })
})

function bigintBytes(n: bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, n)
  return out
}
