import { describe, expect, it } from 'vitest'
import { assignRoster, rank, type Claim } from '../../src/council/index.js'

const claim = (peerId: string, roles: string[], load = 0): Claim => ({ peerId, name: peerId, roles, load })

describe('roster assignment', () => {
  const claims = [
    claim('p1', ['tpm']),
    claim('p2', ['tpm', 'coder']),
    claim('p3', ['senior-software-architect']),
    claim('p4', ['coder'])
  ]
  const input = {
    councilId: 'c1',
    coreRoles: ['tpm', 'senior-software-architect'],
    optionalRoles: ['coder', 'designer'],
    claims,
    maxRolesPerAgent: 1
  }

  it('is a function of the claims alone: the same roster whatever their order', () => {
    const a = assignRoster(input)
    const b = assignRoster({ ...input, claims: [...claims].reverse() })
    expect(a).toEqual(b)
    expect(a.roster.map(s => s.role)).toEqual(['tpm', 'senior-software-architect', 'coder'])
    expect(a.unfilled).toEqual(['designer'])
    expect(new Set(a.roster.map(s => s.peerId)).size).toBe(a.roster.length)
  })

  it('breaks ties by load, then by rank of (council, peer)', () => {
    const tied = [claim('x', ['tpm']), claim('y', ['tpm'])]
    const expected = rank('c1', 'x') < rank('c1', 'y') ? 'x' : 'y'
    expect(assignRoster({ ...input, claims: tied }).roster[0]?.peerId).toBe(expected)
    const loaded = [claim('x', ['tpm'], expected === 'x' ? 2 : 0), claim('y', ['tpm'], expected === 'y' ? 2 : 0)]
    expect(assignRoster({ ...input, claims: loaded }).roster[0]?.peerId).not.toBe(expected)
  })

  it('keeps current holders, so a failover moves only the lost seat', () => {
    const first = assignRoster(input).roster
    const holder = first.find(s => s.role === 'tpm')?.peerId
    const without = claims.filter(c => c.peerId !== first.find(s => s.role === 'senior-software-architect')?.peerId)
    const next = assignRoster({
      ...input,
      claims: [...without, claim('p5', ['senior-software-architect'])],
      current: first
    })
    expect(next.roster.find(s => s.role === 'tpm')?.peerId).toBe(holder)
    expect(next.roster.find(s => s.role === 'senior-software-architect')?.peerId).toBe('p5')
    expect(next.roster.find(s => s.role === 'coder')?.peerId).toBe(first.find(s => s.role === 'coder')?.peerId)
  })

  it('moves the holder of an optional seat to a core seat nobody else can take, and only then', () => {
    // p2 holds the optional coder seat; tpm's holder p1 is gone and only p2 can take tpm.
    const current = [
      { role: 'tpm', peerId: 'p1', name: 'p1' },
      { role: 'senior-software-architect', peerId: 'p3', name: 'p3' },
      { role: 'coder', peerId: 'p2', name: 'p2' }
    ]
    const left = claims.filter(c => c.peerId !== 'p1')
    const next = assignRoster({ ...input, claims: left, current })
    expect(next.roster.find(s => s.role === 'tpm')?.peerId).toBe('p2')
    expect(next.roster.find(s => s.role === 'coder')?.peerId).toBe('p4')
    expect(next.unfilled).toEqual(['designer'])
    // With another tpm claimant free, the coder keeps its seat.
    const other = assignRoster({ ...input, claims: [...left, claim('p6', ['tpm'])], current })
    expect(other.roster.find(s => s.role === 'tpm')?.peerId).toBe('p6')
    expect(other.roster.find(s => s.role === 'coder')?.peerId).toBe('p2')
  })

  it('moves a core holder to another core seat when that is the only way to fill both', () => {
    // p3 holds the architect seat and can also be tpm; tpm's holder is gone, and p7 can only be architect.
    const current = [
      { role: 'tpm', peerId: 'p1', name: 'p1' },
      { role: 'senior-software-architect', peerId: 'p3', name: 'p3' }
    ]
    const next = assignRoster({
      ...input,
      claims: [claim('p3', ['tpm', 'senior-software-architect']), claim('p7', ['senior-software-architect'])],
      current
    })
    expect(next.roster.find(s => s.role === 'tpm')?.peerId).toBe('p3')
    expect(next.roster.find(s => s.role === 'senior-software-architect')?.peerId).toBe('p7')
    expect(next.unfilled).toEqual(['coder', 'designer'])
  })

  it('gives one agent several roles only when allowed', () => {
    const solo = [claim('only', ['tpm', 'senior-software-architect'])]
    expect(assignRoster({ ...input, claims: solo }).unfilled).toContain('senior-software-architect')
    expect(assignRoster({ ...input, claims: solo, maxRolesPerAgent: 2 }).roster.map(s => s.peerId)).toEqual([
      'only',
      'only'
    ])
  })
})
