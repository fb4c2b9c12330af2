/**
 * Estimated bytes on the wire of a membership message: fixed sizes for the fields a binary
 * encoding would carry (a peer id as its 38-byte multihash, numbers as varints of 4 bytes) and
 * 40 bytes per message for framing and encryption. The simulator counts with these; it never
 * serialises, which would cost more than the rest of a run.
 */
import type { SyncEntry, Update, Wire } from '../membership/core/index.js'
import type { Proposal, Wire as CouncilWire } from '../council/core/index.js'

const PEER = 38
const NUMBER = 4
const FRAME = 40

const tenantsBytes = (tenants: string[]): number => tenants.reduce((n, t) => n + t.length + 1, 1)

function updateBytes(u: Update): number {
  switch (u.kind) {
    case 'alive':
      return 1 + PEER + NUMBER + tenantsBytes(u.tenants) + (u.meta?.length ?? 0)
    case 'suspect':
    case 'dead':
      return 1 + PEER + NUMBER + PEER
    case 'left':
      return 1 + PEER + NUMBER
  }
}

const entryBytes = (e: SyncEntry): number => 1 + PEER + NUMBER + tenantsBytes(e.tenants) + (e.meta?.length ?? 0)

export function wireBytes(m: Wire): number {
  switch (m.type) {
    case 'ping':
    case 'ping-req':
      return FRAME + 1 + NUMBER + PEER + m.updates.reduce((n, u) => n + updateBytes(u), 0)
    case 'ack':
    case 'gossip':
      return FRAME + 1 + NUMBER + m.updates.reduce((n, u) => n + updateBytes(u), 0)
    case 'nack':
      return FRAME + 1 + NUMBER
    case 'sync':
      return FRAME + 2 + tenantsBytes(m.tenants) + m.members.reduce((n, e) => n + entryBytes(e), 0)
  }
}

const SIG = 64
const DIGEST = 32
const proposalBytes = (p: Proposal): number =>
  NUMBER +
  PEER +
  p.roster.reduce((n, s) => n + s.role.length + PEER + s.name.length + 2, 0) +
  (p.members.length + p.base.length) * PEER +
  p.claims.reduce((n, c) => n + PEER + c.name.length + NUMBER + tenantsBytes(c.roles), 0)

/** Estimated bytes of a council message: signed by its sender, acks each with a signature. */
export function councilWireBytes(m: CouncilWire): number {
  switch (m.type) {
    case 'claim':
      return FRAME + SIG + 1 + tenantsBytes(m.roles) + NUMBER + m.name.length
    case 'propose':
      return FRAME + SIG + 1 + proposalBytes(m.proposal)
    case 'ack':
      return FRAME + 1 + NUMBER + DIGEST + SIG
    case 'nack':
      return FRAME + SIG + 1 + NUMBER
    case 'commit':
      return FRAME + SIG + 1 + proposalBytes(m.commit) + m.commit.acks.length * (PEER + SIG)
    case 'resign':
      return FRAME + SIG + 1
    case 'end':
      return FRAME + SIG + 1 + m.reason.length
  }
}
