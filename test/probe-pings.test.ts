/**
 * Membership's pings run on one stream per peer, kept open: a ping is a frame and its echo, not a
 * stream of its own. A stream that dies is replaced at the next ping, and a peer that is gone
 * makes the ping fail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Agent } from '../src/agent/index.js'
import { Sim } from '../src/sim/index.js'
import { PROBE_PING_PROTOCOL } from '../src/node/constants.js'
import { waitFor } from './helpers/wait.js'

/** `from`'s open ping streams to `to`. */
function pingStreams(from: Agent, to: Agent): number {
  return from.node
    .getConnections(to.node.peerId)
    .flatMap(c => c.streams)
    .filter(s => s.direction === 'outbound' && s.protocol === PROBE_PING_PROTOCOL && s.status === 'open').length
}

describe('probe pings', () => {
  let sim: Sim
  beforeAll(async () => {
    // No probe rounds: only the test's own pings run.
    sim = await Sim.start({ agents: 3, overrides: { probeIntervalMs: 0 } })
    await waitFor(() => sim.convergedCount() === 3, { timeoutMs: 30_000, message: 'mesh did not form' })
  }, 60_000)
  afterAll(async () => {
    await sim?.stop()
  })

  it('answers many pings over one kept stream, and opens a new one when that stream dies', async () => {
    const [a, b] = sim.agents as [Agent, Agent]
    const probes = a.node.services.probes
    for (let i = 0; i < 20; i++) {
      const ms = await probes.ping(b.node.peerId, { signal: AbortSignal.timeout(5_000) })
      expect(ms).toBeGreaterThanOrEqual(0)
    }
    // Twenty pings, concurrent ones too, and still one stream.
    await Promise.all(
      Array.from({ length: 5 }, async () => await probes.ping(b.node.peerId, { signal: AbortSignal.timeout(5_000) }))
    )
    expect(pingStreams(a, b)).toBe(1)

    // b resets the stream; the connection stays up.
    for (const s of b.node.getConnections(a.node.peerId).flatMap(c => c.streams)) {
      if (s.protocol === PROBE_PING_PROTOCOL) s.abort(new Error('reset by the test'))
    }
    await waitFor(() => pingStreams(a, b) === 0, { timeoutMs: 5_000, message: 'a still holds the dead stream' })
    await probes.ping(b.node.peerId, { signal: AbortSignal.timeout(5_000) })
    expect(pingStreams(a, b)).toBe(1)
  })

  it('keeps each ping to its own deadline while the stream it waits for is still being opened', async () => {
    const [a, b] = sim.agents as [Agent, Agent]
    // Dials between a and b take 3 s from now on; the connection they have is closed.
    sim.slowLink(a, b, 3_000)
    try {
      await a.node.hangUp(b.node.peerId)
      await waitFor(() => a.node.getConnections(b.node.peerId).length === 0, {
        timeoutMs: 5_000,
        message: 'a is still connected to b'
      })
      const probes = a.node.services.probes
      // The first ping opens the line, with a deadline longer than the dial.
      const first = probes.ping(b.node.peerId, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined)
      const started = performance.now()
      await expect(probes.ping(b.node.peerId, { signal: AbortSignal.timeout(300) })).rejects.toThrow()
      expect(performance.now() - started).toBeLessThan(1_500)
      await first
    } finally {
      sim.slowLink(a, b, 0)
    }
  })

  it('sends a ping whose line breaks under it again on a fresh line, and gets its answer', async () => {
    const [a, b] = sim.agents as [Agent, Agent]
    const probes = a.node.services.probes
    await probes.ping(b.node.peerId, { signal: AbortSignal.timeout(5_000) })
    for (let i = 0; i < 5; i++) {
      const ping = probes.ping(b.node.peerId, { signal: AbortSignal.timeout(10_000) })
      // The connection closes under the ping, before any echo can come back (as when either
      // side closes it on purpose): b is still up, and the ping says so, well before its deadline.
      const started = performance.now()
      for (const c of a.node.getConnections(b.node.peerId)) c.abort(new Error('cut by the test'))
      await expect(ping).resolves.toBeGreaterThanOrEqual(0)
      expect(performance.now() - started).toBeLessThan(3_000)
    }
  })

  it('fails a ping of a peer that stopped', async () => {
    const [a, , c] = sim.agents as [Agent, Agent, Agent]
    await a.node.services.probes.ping(c.node.peerId, { signal: AbortSignal.timeout(5_000) })
    await sim.crashAgent(c)
    await expect(a.node.services.probes.ping(c.node.peerId, { signal: AbortSignal.timeout(3_000) })).rejects.toThrow()
  })
})
