/**
 * The membership core's vocabulary: what it is told (inputs), what it asks its shell to do
 * (effects), and the messages it exchanges with other cores (wire). Everything here is plain data:
 * the core never touches a clock, a socket or a timer.
 */

export type PeerState = 'alive' | 'suspect' | 'dead' | 'left'

/**
 * News about one member, piggybacked on probes and acks and kept in the dissemination queue.
 * `tenants` lists the member's tenants the receiver shares with it (a member is never described to
 * an agent outside its tenants). `meta` is opaque to the core: the shell's reference to the
 * member's signed presence records.
 */
export type Update =
  | { kind: 'alive'; peer: string; incarnation: number; tenants: string[]; meta?: string }
  | { kind: 'suspect'; peer: string; incarnation: number; from: string }
  | { kind: 'dead'; peer: string; incarnation: number; from: string }
  | { kind: 'left'; peer: string; incarnation: number }

/** A member as a sync (push-pull) carries it. */
export interface SyncEntry {
  peer: string
  incarnation: number
  state: PeerState
  tenants: string[]
  meta?: string
}

/** Messages between membership cores. */
export type Wire =
  /** SWIM ping. `target` names whom the sender means to probe: a reused address answers nothing. */
  | { type: 'ping'; seq: number; target: string; updates: Update[] }
  | { type: 'ack'; seq: number; updates: Update[] }
  /** Ask the receiver to ping `target` and forward its ack (or a nack when none came in time). */
  | { type: 'ping-req'; seq: number; target: string; updates: Update[] }
  /** Lifeguard: the helper got no ack from the target in time; the asker's own health is fine. */
  | { type: 'nack'; seq: number }
  /** News with nothing to probe: sent only while the dissemination queue holds some. */
  | { type: 'gossip'; updates: Update[] }
  /** Push-pull anti-entropy: the sender's view of the members it shares a tenant with the receiver. */
  | { type: 'sync'; reply: boolean; tenants: string[]; members: SyncEntry[] }

export type Input =
  /** Begin: announce a new incarnation and contact `seeds` (peers known before the view is). */
  | { type: 'start'; seeds?: string[] }
  /** Timers that fell due: call at (or after) `wakeAt`. */
  | { type: 'tick' }
  /** A message from another core (the shell checked who sent it). */
  | { type: 'message'; from: string; message: Wire }
  /** Discovery found a peer (mDNS, DHT, DNS, bootstrap): contact it if it is not a live member. */
  | { type: 'discovered'; peer: string }
  /** This agent's own record changed (roles, addresses): announced under a new incarnation. */
  | { type: 'set-meta'; meta: string }
  /** Leave gracefully: announce `left` and stop probing. */
  | { type: 'leave' }

export interface MemberChange {
  peer: string
  state: PeerState
  previous?: PeerState
  incarnation: number
  tenants: string[]
  meta?: string
  /** `joined`, `refuted`, `suspected`, `confirmed-dead`, `left`, `rejoined`, `forgotten`, … */
  reason: string
}

export type Effect =
  | { type: 'send'; to: string; message: Wire }
  /** A member's state changed in this agent's view. */
  | { type: 'change'; change: MemberChange }
  /**
   * Store this incarnation durably before any message carrying it leaves: after a restart the
   * agent starts above it, so that its return outranks every rumour of its death.
   */
  | { type: 'persist'; incarnation: number }

/** What a membership core needs to know of its agent at creation. */
export interface CoreIdentity {
  self: string
  /** The tenants this agent belongs to. */
  tenants: string[]
  /** The incarnation persisted before a restart (the core starts one above it). */
  incarnation?: number
  meta?: string
}
