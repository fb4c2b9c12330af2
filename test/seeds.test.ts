/**
 * Seed dialling against real sockets on loopback: a seed that accepts connections but never
 * answers (a peer too busy to finish handshakes) gets longer and longer dial timeouts, while a
 * seed that refuses connections is retried with the first timeout. An agent with its peers
 * releases its bootstrap seed, and redials it when it has none left.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { SeedStatus } from '../src/discovery/index.js'
import { createConclaveNode, type ConclaveLibp2p } from '../src/node/index.js'
import { freePort } from './helpers/ports.js'
import { waitFor } from './helpers/wait.js'

const FIRST_TIMEOUT_MS = 200

let node: ConclaveLibp2p | undefined
/** More nodes a test started: stopped after it, whatever happened. */
const extra: ConclaveLibp2p[] = []
let silent: Server | undefined
const sockets = new Set<Socket>()
afterEach(async () => {
  await node?.stop()
  node = undefined
  await Promise.all(
    extra.splice(0).map(async n => {
      await n.stop()
    })
  )
  for (const socket of sockets) socket.destroy()
  sockets.clear()
  await new Promise(resolve => silent?.close(resolve) ?? resolve(undefined))
  silent = undefined
})

/** A node on loopback without mDNS, stopped after the test. */
async function start(init: Partial<Parameters<typeof createConclaveNode>[0]> = {}): Promise<ConclaveLibp2p> {
  const n = await createConclaveNode({
    privateKey: await generateKeyPair('Ed25519'),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    ...init
  })
  extra.push(n)
  return n
}

/** A TCP server that accepts every connection and never sends a byte. */
async function silentServer(): Promise<number> {
  silent = createServer(socket => {
    sockets.add(socket)
  })
  await new Promise<void>(resolve => silent?.listen(0, '127.0.0.1', resolve))
  return (silent.address() as { port: number }).port
}

describe('seed dialling', () => {
  it('doubles the dial timeout of a seed whose dials time out, and not of one that refuses', async () => {
    const slowPort = await silentServer()
    const closedPort = await freePort()
    node = await createConclaveNode({
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      bootstrap: [`/ip4/127.0.0.1/tcp/${slowPort}`, `/ip4/127.0.0.1/tcp/${closedPort}`],
      seedDialTimeoutMs: FIRST_TIMEOUT_MS
    })
    const seeds = node.services.seeds
    const byPort = (port: number) => seeds.status().find(s => s.addr.endsWith(`/tcp/${port}`))
    await waitFor(() => (byPort(slowPort)?.failures ?? 0) >= 3 && (byPort(closedPort)?.failures ?? 0) >= 3, {
      timeoutMs: 20_000,
      message: () => JSON.stringify(seeds.status())
    })
    const slow = byPort(slowPort)
    const closed = byPort(closedPort)
    expect(slow?.connected).toBe(false)
    expect(slow?.nextTimeoutMs).toBeGreaterThanOrEqual(FIRST_TIMEOUT_MS * 2 ** 3)
    expect(closed?.nextTimeoutMs).toBe(FIRST_TIMEOUT_MS)
    expect(closed?.lastError).toMatch(/ECONNREFUSED|refused/i)
  })

  it('releases a bootstrap seed once the agent has its peers, tells the seed, and redials it when left alone', async () => {
    // The seed's own dialer stays out of it (a cap of 0): here it would dial the agent back.
    const seed = await start({ maxConnections: 0 })
    const [b, c] = [await start(), await start()]
    node = await start({
      bootstrap: [seed.getMultiaddrs()[0]?.toString() ?? ''],
      maxConnections: 3,
      seedReleaseAfterMs: 300
    })
    const agent = node
    const status = (): SeedStatus | undefined => agent.services.seeds.status()[0]
    await waitFor(() => status()?.connected, { timeoutMs: 10_000, message: 'agent did not reach its seed' })
    await agent.dial(b.getMultiaddrs())
    await agent.dial(c.getMultiaddrs())
    // Three peers, the cap: the seed goes once its connection stood 300-600 ms.
    await waitFor(() => status()?.released === true && agent.getConnections(seed.peerId).length === 0, {
      timeoutMs: 10_000,
      message: () => JSON.stringify(status())
    })
    // The seed was told first: it takes the disconnect for no failure (asked once per disconnect).
    expect(seed.services.seeds.releasedOnPurpose(agent.peerId.toString())).toBe(true)
    expect(seed.services.seeds.releasedOnPurpose(agent.peerId.toString())).toBe(false)
    expect(agent.services.seeds.releasedOnPurpose(seed.peerId.toString())).toBe(true)
    expect(agent.services.seeds.holdsOff(seed.peerId)).toBe(true)

    // Left with no peer, the agent needs its seed again.
    await b.stop()
    await c.stop()
    await waitFor(() => agent.getConnections(seed.peerId).length > 0, {
      timeoutMs: 10_000,
      message: () => `not redialled: ${JSON.stringify(status())}`
    })
    expect(status()?.released).toBe(false)
    expect(agent.services.seeds.holdsOff(seed.peerId)).toBe(false)
  })

  it('keeps its seed while releasing it would leave fewer than 2 peers, and releases it once that changes', async () => {
    const seed = await start({ maxConnections: 0 })
    const [b, c] = [await start(), await start()]
    const releaseAfterMs = 200
    // A cap of 2: the seed and b make the agent full, but a release would leave it one peer,
    // under the redial floor, and the seed would be dialled again at once.
    node = await start({
      bootstrap: [seed.getMultiaddrs()[0]?.toString() ?? ''],
      maxConnections: 2,
      seedReleaseAfterMs: releaseAfterMs
    })
    const agent = node
    await waitFor(() => agent.getConnections(seed.peerId).length > 0, {
      timeoutMs: 10_000,
      message: 'agent did not reach its seed'
    })
    await agent.dial(b.getMultiaddrs())
    const first = agent.getConnections(seed.peerId)[0]
    // Without the floor, a release is due once the connection stood twice releaseAfterMs and the
    // seed dialer ticked (every 500 ms): give it that, twice over.
    await waitFor(() => Date.now() - (first?.timeline.open ?? 0) > 2 * (2 * releaseAfterMs + 500), {
      timeoutMs: 10_000,
      message: 'clock'
    })
    expect(agent.services.seeds.status()[0]?.released).toBe(false)
    expect(agent.getConnections(seed.peerId).map(conn => conn.id)).toEqual([first?.id])
    // A third peer: releasing now leaves two, and it goes.
    await agent.dial(c.getMultiaddrs())
    await waitFor(
      () => agent.services.seeds.status()[0]?.released === true && agent.getConnections(seed.peerId).length === 0,
      { timeoutMs: 10_000, message: () => JSON.stringify(agent.services.seeds.status()) }
    )
  })
})
