/**
 * A gossip stream that dies while its connection stays up (a peer reset it after stalling) left
 * an agent silent towards that peer for as long as the connection lived, while pings still got
 * through. The gossip watch finds the connection without a gossip stream and reconnects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Agent } from '../src/agent/index.js'
import { Sim } from '../src/sim/index.js'
import { GOSSIP_PROTOCOLS } from '../src/node/gossip.js'
import { waitFor } from './helpers/wait.js'

const CHANNEL = 'repair'

describe('gossip stream repair', () => {
  let sim: Sim
  beforeAll(async () => {
    sim = await Sim.start({ agents: 2 })
    await waitFor(() => sim.convergedCount() === 2, { timeoutMs: 30_000, message: 'mesh did not form' })
  }, 60_000)
  afterAll(async () => {
    await sim?.stop()
  })

  it('reconnects a peer whose gossip stream died, and its messages flow again', async () => {
    const [a, b] = sim.agents as [Agent, Agent]
    const tenant = a.tenancy.tenants[0] as string
    const received: string[] = []
    b.tenancy.join(tenant, CHANNEL, msg => {
      received.push(new TextDecoder().decode(msg.payload))
      return 'accept'
    })
    const channel = a.tenancy.join(tenant, CHANNEL, () => 'accept')
    const delivered = async (text: string): Promise<boolean> => {
      await channel.publish(new TextEncoder().encode(text))
      await new Promise(resolve => setTimeout(resolve, 200))
      return received.includes(text)
    }
    let n = 0
    await waitFor(async () => await delivered(`before ${n++}`), {
      timeoutMs: 15_000,
      message: "a's messages do not reach b"
    })

    // b resets the stream a gossips to it over; the connection itself stays up.
    const streams = b.node
      .getConnections(a.node.peerId)
      .flatMap(c => c.streams)
      .filter(s => s.direction === 'inbound' && GOSSIP_PROTOCOLS.includes(s.protocol ?? ''))
    expect(streams.length).toBeGreaterThan(0)
    for (const s of streams) s.abort(new Error('reset by the test'))
    expect(b.node.getConnections(a.node.peerId).length).toBeGreaterThan(0)

    await waitFor(async () => await delivered(`after ${n++}`), {
      timeoutMs: 30_000,
      message: () => `a's messages no longer reach b (gossip repairs at a: ${a.node.services.gossipWatch.repairs})`
    })
    expect(a.node.services.gossipWatch.repairs).toBeGreaterThan(0)
  })
})
