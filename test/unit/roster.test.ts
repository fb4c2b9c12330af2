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

  it('gives one agent several roles only when allowed', () => {
    const solo = [claim('only', ['tpm', 'senior-software-architect'])]
    expect(assignRoster({ ...input, claims: solo }).unfilled).toContain('senior-software-architect')
    expect(assignRoster({ ...input, claims: solo, maxRolesPerAgent: 2 }).roster.map(s => s.peerId)).toEqual([
      'only',
      'only'
    ])
  })
})
