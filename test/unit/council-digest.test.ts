/**
 * The digest a member's acknowledgement signs: a proposal and the commit made of it (as any agent
 * parses them off the wire) must give the same one, and it must change with everything the
 * proposal says, the members' claims included.
 */
import { describe, expect, it } from 'vitest'
import { councilMessageSchema, proposalDigest, type ProposalBody } from '../../src/council/index.js'

const body: ProposalBody = {
  epoch: 3,
  roster: [{ role: 'tpm', peerId: 'peer-a', name: 'a' }],
  members: ['peer-a', 'peer-b'],
  base: ['peer-a', 'peer-b', 'peer-c'],
  claims: [
    { peerId: 'peer-a', name: 'a', roles: ['tpm'], load: 0 },
    { peerId: 'peer-b', name: 'b', roles: ['tpm'], load: 1 }
  ],
  coordinator: 'peer-b'
}
const council = {
  id: 'c-1',
  tenant: 'default',
  project: 'p',
  coreRoles: ['tpm'],
  optionalRoles: [],
  claimWindowMs: 2_000,
  ttlMs: 60_000,
  maxRolesPerAgent: 1,
  createdAt: 1,
  opener: 'peer-a'
}

describe('proposal digest', () => {
  it('is the same for a proposal, a handover and their commit as they arrive', () => {
    const proposal = councilMessageSchema.parse(JSON.parse(JSON.stringify({ type: 'propose', council, ...body })))
    const commit = councilMessageSchema.parse(
      JSON.parse(JSON.stringify({ type: 'commit', council, ...body, acks: [{ peerId: 'peer-a', sig: 'c2ln' }] }))
    )
    const resign = councilMessageSchema.parse(
      JSON.parse(JSON.stringify({ type: 'resign', id: 'c-1', epoch: 2, handover: body }))
    )
    if (
      proposal.type !== 'propose' ||
      commit.type !== 'commit' ||
      resign.type !== 'resign' ||
      resign.handover === undefined
    ) {
      throw new Error('not a proposal, a commit and a handover')
    }
    expect(proposal.claims).toEqual(body.claims)
    expect(commit.coordinator).toBe(body.coordinator)
    expect(proposalDigest('c-1', proposal)).toBe(proposalDigest('c-1', body))
    expect(proposalDigest('c-1', commit)).toBe(proposalDigest('c-1', body))
    expect(proposalDigest('c-1', resign.handover)).toBe(proposalDigest('c-1', body))
  })

  it('changes with everything a member signs for: council, epoch, roster, members, base, claims and coordinator', () => {
    const digest = proposalDigest('c-1', body)
    expect(proposalDigest('c-2', body)).not.toBe(digest)
    expect(proposalDigest('c-1', { ...body, epoch: 4 })).not.toBe(digest)
    expect(proposalDigest('c-1', { ...body, roster: [{ role: 'tpm', peerId: 'peer-b', name: 'b' }] })).not.toBe(digest)
    expect(proposalDigest('c-1', { ...body, members: ['peer-a'] })).not.toBe(digest)
    expect(proposalDigest('c-1', { ...body, base: ['peer-a', 'peer-b'] })).not.toBe(digest)
    expect(proposalDigest('c-1', { ...body, claims: body.claims?.slice(0, 1) })).not.toBe(digest)
    // A relay cannot make itself the coordinator: the acks no longer match.
    expect(proposalDigest('c-1', { ...body, coordinator: 'peer-c' })).not.toBe(digest)
    const { coordinator, ...unnamed } = body
    expect(proposalDigest('c-1', unnamed)).not.toBe(digest)
  })
})
