/**
 * The DHT walk of the auto-dialer: an agent short of peers, with nobody left to dial, asks the
 * DHT for more. Two agents of one tenant that only share a bootstrap peer of another tenant have
 * no other way to meet: the bootstrap peer neither shares nor relays their tenant's presence.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Sim } from '../src/sim/index.js'
import { waitFor } from './helpers/wait.js'

let sim: Sim | undefined
afterEach(async () => {
  await sim?.stop()
  sim = undefined
})

describe('DHT walk', () => {
  it('two agents that only share a bootstrap peer of another tenant find each other through the DHT', async () => {
    const s = (sim = await Sim.start({
      agents: 3,
      tenants: ['acme', 'globex'],
      tenantsOf: i => (i === 0 ? ['acme'] : ['globex'])
    }))
    const [, b, c] = s.agents
    if (b === undefined || c === undefined) throw new Error('sim did not start 3 agents')
    const sees = (x: typeof b, y: typeof b): boolean => x.membership.stateOf('globex', y.peerId) === 'alive'
    // The walk starts after 30 s short of peers (DHT_LOOKUP_INTERVAL_MS), then a top-up round.
    await waitFor(() => sees(b, c) && sees(c, b), {
      timeoutMs: 60_000,
      intervalMs: 250,
      message: 'the globex agents never met'
    })
    expect(b.node.getConnections(c.node.peerId).length).toBeGreaterThan(0)
  }, 90_000)
})
