/**
 * Pure council rules every agent must compute alike: the rank that orders claimants and
 * successors, and when a committed epoch is announced again.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { announceInterval, blankCouncil, restoredCouncil, savedCouncil } from '../src/council/council.js'
import { councilDefaults as C, rank } from '../src/council/index.js'
import type { Descriptor } from '../src/council/index.js'

const d: Descriptor = {
  id: 'c-1',
  tenant: 't',
  project: 'p',
  coreRoles: ['tpm'],
  optionalRoles: [],
  claimWindowMs: 2_000,
  ttlMs: 60_000,
  maxRolesPerAgent: 1,
  createdAt: 0,
  opener: 'a'
}

describe('rank', () => {
  it('is the SHA-256 of council id, a NUL and peer id, whether cached or not: agents of every version order peers alike', () => {
    const expected = (council: string, peer: string): string =>
      createHash('sha256').update(council).update('\u0000').update(peer).digest('hex')
    expect(rank('c-1', 'peer-a')).toBe(expected('c-1', 'peer-a'))
    // Past the cache's size (it is then dropped), and asked again.
    for (let i = 0; i < 10_000; i++) rank('c-2', `peer-${i}`)
    for (const peer of ['peer-a', 'peer-1', 'peer-9999']) {
      expect(rank('c-1', peer)).toBe(expected('c-1', peer))
      expect(rank('c-2', peer)).toBe(expected('c-2', peer))
    }
    expect(rank('c-1', 'peer-a')).not.toBe(rank('c-2', 'peer-a'))
  })
})

describe('announceInterval', () => {
  it("is the base while a council forms and while its commit is young, then half the commit's age, at most the maximum", () => {
    const c = blankCouncil(d)
    expect(announceInterval(c, 1_000_000)).toBe(C.REANNOUNCE_MS)
    c.lastCommit = { type: 'commit', council: d, epoch: 1, roster: [], members: [], base: [], claims: [], acks: [] }
    c.lastCommitAt = 100_000
    expect(announceInterval(c, 100_000)).toBe(C.REANNOUNCE_MS)
    expect(announceInterval(c, 100_000 + 2 * C.REANNOUNCE_MS)).toBe(C.REANNOUNCE_MS)
    expect(announceInterval(c, 100_000 + 30_000)).toBe(15_000)
    expect(announceInterval(c, 100_000 + 3_600_000)).toBe(C.MAX_REANNOUNCE_MS)
    expect(announceInterval(c, 100_000 + 30_000, 1_000, 4_000)).toBe(4_000)
    // Restored after a restart, an hour on: announced (and awaited) as after a fresh commit.
    const restored = restoredCouncil(savedCouncil(c), 'a', 100_000 + 3_600_000)
    expect(announceInterval(restored, 100_000 + 3_600_000)).toBe(C.REANNOUNCE_MS)
  })
})
