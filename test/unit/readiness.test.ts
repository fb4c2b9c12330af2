import { describe, expect, it } from 'vitest'
import { gossipCutOff, GOSSIP_SILENCE_MS } from '../../src/agent/readiness.js'

describe('readiness: a gossip layer cut off', () => {
  it('is not ready after the window without evidence while peers are alive, and only then', () => {
    const t0 = 1_000_000
    expect(gossipCutOff({ lastEvidenceAt: t0, startedAt: 0, alivePeers: 3 }, t0 + GOSSIP_SILENCE_MS)).toBeUndefined()
    expect(gossipCutOff({ lastEvidenceAt: t0, startedAt: 0, alivePeers: 3 }, t0 + GOSSIP_SILENCE_MS + 1_000)).toBe(
      'no gossip peer and no gossip received for 31 s while 3 peers are alive'
    )
    // Alone in its tenants, an agent hears nothing and is still ready.
    expect(
      gossipCutOff({ lastEvidenceAt: t0, startedAt: 0, alivePeers: 0 }, t0 + 10 * GOSSIP_SILENCE_MS)
    ).toBeUndefined()
    // No evidence yet: counted from the start.
    expect(gossipCutOff({ lastEvidenceAt: 0, startedAt: t0, alivePeers: 1 }, t0 + 5_000)).toBeUndefined()
    expect(gossipCutOff({ lastEvidenceAt: 0, startedAt: t0, alivePeers: 1 }, t0 + 40_000)).toMatch(
      /no gossip received for 40 s/
    )
  })
})
