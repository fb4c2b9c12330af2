/**
 * The digest a member's acknowledgement signs must not depend on the claims a proposal carries:
 * an agent of the previous version parses the same message without them (the schema then had no
 * such field), and both must sign the same digest for a proposal to commit in a mixed cluster.
 */
import { describe, expect, it } from 'vitest'
import { councilMessageSchema, proposalDigest, type ProposalBody } from '../../src/council/index.js'

const body: ProposalBody = {
  epoch: 3,
  roster: [{ role: 'tpm', peerId: 'peer-a', name: 'a' }],
  members: ['peer-a', 'peer-b'],
  base: ['peer-a', 'peer-b', 'peer-c'],
  claims: [{ peerId: 'peer-a', name: 'a', roles: ['tpm'], load: 0 }, { peerId: 'peer-b', name: 'b', roles: ['tpm'], load: 1 }]
}
const council = { id: 'c-1', tenant: 'default', project: 'p', coreRoles: ['tpm'], optionalRoles: [], claimWindowMs: 2_000, ttlMs: 60_000, maxRolesPerAgent: 1, createdAt: 1, opener: 'peer-a' }

describe('proposal digest', () => {
  it('is the same with or without the claims, as a proposal arrives and as the previous version parsed it', () => {
    const wire = JSON.stringify({ type: 'propose', council, ...body })
    const parsed = councilMessageSchema.parse(JSON.parse(wire))
    if (parsed.type !== 'propose') throw new Error('not a proposal')
    expect(parsed.claims).toEqual(body.claims)
    const { claims, ...withoutClaims } = body
    expect(claims).toBeDefined()
    expect(proposalDigest('c-1', parsed)).toBe(proposalDigest('c-1', withoutClaims))
  })

  it('changes with everything a member signs for: council, epoch, roster, members and base', () => {
    const digest = proposalDigest('c-1', body)
    expect(proposalDigest('c-2', body)).not.toBe(digest)
    expect(proposalDigest('c-1', { ...body, epoch: 4 })).not.toBe(digest)
    expect(proposalDigest('c-1', { ...body, roster: [{ role: 'tpm', peerId: 'peer-b', name: 'b' }] })).not.toBe(digest)
    expect(proposalDigest('c-1', { ...body, members: ['peer-a'] })).not.toBe(digest)
    expect(proposalDigest('c-1', { ...body, base: ['peer-a', 'peer-b'] })).not.toBe(digest)
  })
})
