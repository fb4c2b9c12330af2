/**
 * Seed dialling against real sockets on loopback: a seed that accepts connections but never
 * answers (a peer too busy to finish handshakes) gets longer and longer dial timeouts, while a
 * seed that refuses connections is retried with the first timeout.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createConclaveNode, type ConclaveLibp2p } from '../src/node/index.js'
import { freePort } from './helpers/ports.js'
import { waitFor } from './helpers/wait.js'

const FIRST_TIMEOUT_MS = 200

let node: ConclaveLibp2p | undefined
let silent: Server | undefined
const sockets = new Set<Socket>()
afterEach(async () => {
  await node?.stop()
  node = undefined
  for (const socket of sockets) socket.destroy()
  sockets.clear()
  await new Promise(resolve => silent?.close(resolve) ?? resolve(undefined))
  silent = undefined
})

/** A TCP server that accepts every connection and never sends a byte. */
async function silentServer (): Promise<number> {
  silent = createServer(socket => { sockets.add(socket) })
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
})
