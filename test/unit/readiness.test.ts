import { describe, expect, it } from 'vitest'
import { gossipSilence, GOSSIP_SILENCE_MS } from '../../src/agent/readiness.js'

describe('readiness: a silent gossip layer', () => {
  it('is not ready after the silence window while peers are alive, and only then', () => {
    const t0 = 1_000_000
    expect(gossipSilence({ lastGossipInAt: t0, startedAt: 0, alivePeers: 3 }, t0 + GOSSIP_SILENCE_MS)).toBeUndefined()
    expect(gossipSilence({ lastGossipInAt: t0, startedAt: 0, alivePeers: 3 }, t0 + GOSSIP_SILENCE_MS + 1_000)).toBe(
      'no gossip received for 31 s while 3 peers are alive'
    )
    // Alone in its tenants, an agent hears nothing and is still ready.
    expect(
      gossipSilence({ lastGossipInAt: t0, startedAt: 0, alivePeers: 0 }, t0 + 10 * GOSSIP_SILENCE_MS)
    ).toBeUndefined()
    // Nothing heard yet: counted from the start.
    expect(gossipSilence({ lastGossipInAt: 0, startedAt: t0, alivePeers: 1 }, t0 + 5_000)).toBeUndefined()
    expect(gossipSilence({ lastGossipInAt: 0, startedAt: t0, alivePeers: 1 }, t0 + 40_000)).toMatch(
      /no gossip received for 40 s/
    )
  })
})
