import type { PresenceRecord, SignedRecord } from './record.js'

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left'

export interface Member {
  record: PresenceRecord
  signed: SignedRecord
  state: MemberState
  /** Local time (ms) of the latest evidence of life: a heartbeat, a relayed sighting or a ping. */
  lastSeen: number
  /** Local time the current state began. */
  stateSince: number
  /** Heartbeat interval the member promised; silence is judged against it. */
  intervalMs: number
  /** Highest heartbeat sequence seen in the current incarnation (replays are ignored). */
  seq: number
}

export interface MemberChange {
  tenant: string
  peerId: string
  previous?: MemberState
  state: MemberState
  /** `joined`, `rejoined`, `recovered`, `refuted`, `missed-heartbeats`, `unreachable`, … */
  reason: string
  member: Member
}

export interface ViewInit {
  /** Missed heartbeat intervals before an alive member is overdue (probed, then suspect). */
  suspectMissed: number
  /** Time a suspect has to refute before it is dead. */
  deadAfterMs: number
  /** Time dead and left members stay in the view. */
  retentionMs: number
}

export interface Sighting {
  now: number
  /** Heartbeat sequence; absent for relayed sightings (sync). */
  seq?: number
  intervalMs: number
  /** How long before `now` the member was last heard of (0 for a heartbeat received now). */
  ageMs?: number
}

/**
 * The membership view of one agent: every member of its tenants and their states. A pure state
 * machine (memberlist/SWIM rules with incarnation numbers); the service feeds it messages,
 * probe results and the clock, and acts on the changes it returns.
 */
export class MembershipView {
  private readonly init: ViewInit
  private readonly tenants = new Map<string, Map<string, Member>>()

  constructor(init: ViewInit) {
    this.init = init
  }

  get(tenant: string, peerId: string): Member | undefined {
    return this.tenants.get(tenant)?.get(peerId)
  }

  /** Members of one tenant, or of all tenants. */
  members(tenant?: string): Array<{ tenant: string; member: Member }> {
    const out: Array<{ tenant: string; member: Member }> = []
    for (const [t, members] of this.tenants) {
      if (tenant !== undefined && t !== tenant) continue
      for (const member of members.values()) out.push({ tenant: t, member })
    }
    return out
  }

  count(tenant: string, state: MemberState): number {
    let n = 0
    for (const m of this.tenants.get(tenant)?.values() ?? []) if (m.state === state) n++
    return n
  }

  private silenceLimit(intervalMs: number): number {
    return this.init.suspectMissed * intervalMs
  }

  /**
   * Whether news of `m` at this incarnation (and heartbeat sequence, if any) is older than what
   * the view holds: an earlier incarnation, or a heartbeat sequence already seen (a replay).
   */
  isStale(m: Member, incarnation: number, seq?: number): boolean {
    if (incarnation !== m.record.incarnation) return incarnation < m.record.incarnation
    return seq !== undefined && seq <= m.seq
  }

  /** A heartbeat or a relayed sighting of a verified record. */
  heard(record: PresenceRecord, signed: SignedRecord, s: Sighting): MemberChange | undefined {
    const ageMs = s.ageMs ?? 0
    const seenAt = s.now - ageMs
    let members = this.tenants.get(record.tenant)
    if (members === undefined) {
      members = new Map()
      this.tenants.set(record.tenant, members)
    }
    const m = members.get(record.peerId)
    if (m === undefined) {
      if (ageMs > this.silenceLimit(s.intervalMs)) return undefined
      const member: Member = {
        record,
        signed,
        state: 'alive',
        lastSeen: seenAt,
        stateSince: s.now,
        intervalMs: s.intervalMs,
        seq: s.seq ?? 0
      }
      members.set(record.peerId, member)
      return { tenant: record.tenant, peerId: record.peerId, state: 'alive', reason: 'joined', member }
    }
    if (this.isStale(m, record.incarnation, s.seq)) return undefined
    const newer = record.incarnation > m.record.incarnation
    if (newer || m.signed.record !== signed.record) {
      m.record = record
      m.signed = signed
    }
    if (newer) m.seq = 0
    if (s.seq !== undefined) {
      m.seq = s.seq
      m.intervalMs = s.intervalMs
    }
    m.lastSeen = Math.max(m.lastSeen, seenAt)

    if (m.state === 'alive') return undefined
    if (newer) return this.transition(record.tenant, m, 'alive', s.now, m.state === 'suspect' ? 'refuted' : 'rejoined')
    // Evidence of life newer than the verdict revives a suspect or dead member: a heartbeat is
    // signed by the member itself with a fresh sequence number, so it cannot be a replay. A left
    // member only comes back with a new incarnation (it restarted).
    if ((m.state === 'suspect' || m.state === 'dead') && seenAt > m.stateSince) {
      return this.transition(record.tenant, m, 'alive', s.now, 'recovered')
    }
    return undefined
  }

  /** Someone (us after a failed probe, or a gossiped notice) suspects `peerId` at `incarnation`. */
  suspect(tenant: string, peerId: string, incarnation: number, now: number, reason: string): MemberChange | undefined {
    const m = this.get(tenant, peerId)
    if (m === undefined || incarnation < m.record.incarnation || m.state !== 'alive') return undefined
    return this.transition(tenant, m, 'suspect', now, reason)
  }

  /** The member announced a graceful leave. */
  leave(tenant: string, peerId: string, incarnation: number, now: number): MemberChange | undefined {
    const m = this.get(tenant, peerId)
    if (m === undefined || incarnation < m.record.incarnation || m.state === 'left') return undefined
    return this.transition(tenant, m, 'left', now, 'leave')
  }

  /** The tenant revoked the member's credential: it is out, whatever it says later. */
  revoke(tenant: string, peerId: string, now: number): MemberChange | undefined {
    const m = this.get(tenant, peerId)
    if (m === undefined || m.state === 'left') return undefined
    return this.transition(tenant, m, 'left', now, 'revoked')
  }

  /**
   * A direct ping answered: the member is alive whatever the gossip said, also one declared dead
   * (first-hand evidence, like its own heartbeat). A left member only comes back by restarting.
   */
  confirmAlive(tenant: string, peerId: string, now: number): MemberChange | undefined {
    const m = this.get(tenant, peerId)
    if (m === undefined) return undefined
    m.lastSeen = now
    if (m.state !== 'suspect' && m.state !== 'dead') return undefined
    return this.transition(tenant, m, 'alive', now, 'ping')
  }

  /** Whether the member has been silent for longer than `suspectMissed` of its intervals. */
  isSilent(m: Member, now: number): boolean {
    return now - m.lastSeen > this.silenceLimit(m.intervalMs)
  }

  /** Alive members that are silent: to be probed. */
  overdue(now: number): Array<{ tenant: string; member: Member }> {
    return this.members().filter(({ member: m }) => m.state === 'alive' && this.isSilent(m, now))
  }

  /** Suspects past `deadAfterMs` become dead; dead and left members past retention are forgotten. */
  expire(now: number): MemberChange[] {
    const changes: MemberChange[] = []
    for (const [tenant, members] of this.tenants) {
      for (const [peerId, m] of members) {
        if (m.state === 'suspect' && now - m.stateSince >= this.init.deadAfterMs) {
          changes.push(this.transition(tenant, m, 'dead', now, 'suspicion-timeout'))
        } else if ((m.state === 'dead' || m.state === 'left') && now - m.stateSince >= this.init.retentionMs) {
          members.delete(peerId)
        }
      }
    }
    return changes
  }

  private transition(tenant: string, m: Member, state: MemberState, now: number, reason: string): MemberChange {
    const previous = m.state
    m.state = state
    m.stateSince = now
    return { tenant, peerId: m.record.peerId, previous, state, reason, member: m }
  }
}
