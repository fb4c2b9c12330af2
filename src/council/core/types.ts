/**
 * The council core's vocabulary: what it is told (inputs), what it asks its shell to do
 * (effects), and the messages it exchanges with other cores (wire). Plain data only: the core
 * never touches a clock, a socket, a key or a file.
 */
import type { Claim } from '../roster.js'
import type { Descriptor, Seat } from '../messages.js'

export type { Claim, Descriptor, Seat }

/** What a proposal says: one shape in a proposal and in the commit made of it (its digest covers it all). */
export interface Proposal {
  epoch: number
  roster: Seat[]
  /** The members of this epoch (holders and standbys): a majority of them commits the next one. */
  members: string[]
  /** Whose majority commits this one: the previous epoch's members, or at formation the claimants. */
  base: string[]
  /** The members' claims: whoever coordinates a later epoch assigns seats from them. */
  claims: Claim[]
  /** Who commits it and coordinates its epoch. */
  coordinator: string
}

/** A commit: the proposal and the members of its base that acknowledged it. */
export interface Commit extends Proposal {
  acks: string[]
}

/** Messages between council cores. Signatures are the shell's business: a core sees checked senders. */
export type Wire =
  | { type: 'claim'; roles: string[]; load: number; name: string }
  | { type: 'propose'; proposal: Proposal }
  | { type: 'ack'; epoch: number; digest: string }
  | { type: 'nack'; promised: number }
  | { type: 'commit'; commit: Commit }
  /** The sender withdraws (a graceful leave): its seat goes to someone else at once. */
  | { type: 'resign' }
  /** The opener failed the formation (a core role had no claimant when the claim window ended). */
  | { type: 'end'; reason: string }

export type Input =
  /** Begin: claim the roles this agent can hold. */
  | { type: 'start' }
  /** Timers that fell due: call at (or after) `wakeAt`. */
  | { type: 'tick' }
  | { type: 'message'; from: string; message: Wire }
  /** A member of the tenant changed state in the membership view (the core then reads `alive`). */
  | { type: 'member'; peer: string }
  /** Leave gracefully: resign, claim nothing, propose nothing. */
  | { type: 'resign' }

/** What the core asks its shell to keep across a restart, written before any message it made leaves. */
export interface Persisted {
  /** Highest epoch acknowledged or committed here: nothing lower is ever acknowledged. */
  promised: number
  /** Highest epoch proposed here: a new proposal always goes higher. */
  proposed: number
  lastCommit?: Commit
}

export type Effect =
  /** Flood to every member of the tenant. */
  | { type: 'publish'; message: Wire }
  /** Send to one agent directly. */
  | { type: 'send'; to: string; message: Wire }
  /** Store this state; `durable`: on disk before the effects that follow are carried out. */
  | { type: 'persist'; state: Persisted; durable: boolean }
  /** This agent acknowledged a proposal (for monitors and logs: the ack itself is a `send`). */
  | { type: 'acked'; epoch: number; digest: string }
  /** A roster was applied here. `published`: this agent committed it. */
  | { type: 'applied'; commit: Commit; digest: string; published: boolean }
  /** The formation failed: a core role had no claimant when the claim window ended. */
  | { type: 'failed'; reason: string }

/** What a council core reads of the membership view: pure queries, no IO. */
export interface MembershipView {
  /** Whether `peer` runs, as this agent sees it (alive or suspect). */
  alive(peer: string): boolean
}
