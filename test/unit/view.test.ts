import { describe, expect, it } from 'vitest'
import { MembershipView, type PresenceRecord } from '../../src/membership/index.js'
import { heartbeatIntervalMs } from '../../src/membership/membership.js'
import { presenceMessageSchema, syncSnapshotSchema } from '../../src/membership/messages.js'
import { DEFAULT_HEARTBEAT_BUDGET } from '../../src/membership/constants.js'

const record = (peerId: string, incarnation = 1): PresenceRecord => ({
  v: 1,
  peerId,
  name: peerId,
  roles: [],
  tenant: 'default',
  addrs: [],
  version: 'test',
  incarnation
})
const signed = (r: PresenceRecord): { record: string; sig: string } => ({ record: JSON.stringify(r), sig: 'sig' })

function view(): MembershipView {
  return new MembershipView({ suspectMissed: 3, deadAfterMs: 5_000, retentionMs: 60_000 })
}

describe('MembershipView', () => {
  it('adds a member on its first heartbeat and ignores replays', () => {
    const v = view()
    expect(v.heard(record('a'), signed(record('a')), { now: 0, seq: 1, intervalMs: 1_000 })?.reason).toBe('joined')
    expect(v.heard(record('a'), signed(record('a')), { now: 10, seq: 1, intervalMs: 1_000 })).toBeUndefined()
    expect(v.get('default', 'a')?.state).toBe('alive')
  })

  it('probes a silent member only after the promised intervals, then kills it after the suspicion timeout', () => {
    const v = view()
    v.heard(record('a'), signed(record('a')), { now: 0, seq: 1, intervalMs: 1_000 })
    expect(v.overdue(3_000)).toHaveLength(0)
    expect(v.overdue(3_001).map(m => m.member.record.peerId)).toEqual(['a'])
    expect(v.suspect('default', 'a', 1, 3_100, 'missed-heartbeats')?.state).toBe('suspect')
    expect(v.expire(8_099)).toHaveLength(0)
    expect(v.expire(8_100).map(c => c.state)).toEqual(['dead'])
  })

  it('revives a suspect or dead member on fresh evidence, but not a left one', () => {
    const v = view()
    v.heard(record('a'), signed(record('a')), { now: 0, seq: 1, intervalMs: 1_000 })
    v.suspect('default', 'a', 1, 100, 'connection-lost')
    expect(v.heard(record('a'), signed(record('a')), { now: 200, seq: 2, intervalMs: 1_000 })?.reason).toBe('recovered')
    v.suspect('default', 'a', 1, 300, 'connection-lost')
    v.expire(5_300)
    expect(v.get('default', 'a')?.state).toBe('dead')
    expect(v.heard(record('a'), signed(record('a')), { now: 5_400, seq: 3, intervalMs: 1_000 })?.state).toBe('alive')
    v.leave('default', 'a', 1, 5_500)
    expect(v.heard(record('a'), signed(record('a')), { now: 5_600, seq: 4, intervalMs: 1_000 })).toBeUndefined()
    expect(v.get('default', 'a')?.state).toBe('left')
    expect(v.heard(record('a', 2), signed(record('a', 2)), { now: 5_700, seq: 1, intervalMs: 1_000 })?.reason).toBe(
      'rejoined'
    )
  })

  it('ignores suspicions of an older incarnation (already refuted)', () => {
    const v = view()
    v.heard(record('a', 5), signed(record('a', 5)), { now: 0, seq: 1, intervalMs: 1_000 })
    expect(v.suspect('default', 'a', 4, 10, 'suspected-by-peer')).toBeUndefined()
    expect(v.suspect('default', 'a', 5, 10, 'suspected-by-peer')?.state).toBe('suspect')
    expect(v.heard(record('a', 6), signed(record('a', 6)), { now: 5, seq: 1, intervalMs: 1_000 })?.reason).toBe(
      'refuted'
    )
  })

  it('takes relayed sightings only when they are recent enough', () => {
    const v = view()
    expect(v.heard(record('a'), signed(record('a')), { now: 10_000, intervalMs: 1_000, ageMs: 3_500 })).toBeUndefined()
    expect(v.heard(record('b'), signed(record('b')), { now: 10_000, intervalMs: 1_000, ageMs: 500 })?.reason).toBe(
      'joined'
    )
    expect(v.get('default', 'b')?.lastSeen).toBe(9_500)
  })

  it('forgets dead and left members after retention', () => {
    const v = view()
    v.heard(record('a'), signed(record('a')), { now: 0, seq: 1, intervalMs: 1_000 })
    v.leave('default', 'a', 1, 0)
    v.expire(59_999)
    expect(v.get('default', 'a')).toBeDefined()
    v.expire(60_000)
    expect(v.get('default', 'a')).toBeUndefined()
  })
})

describe('MembershipView.isStale', () => {
  it('calls older incarnations and already-seen heartbeat sequences stale, newer ones fresh', () => {
    const v = new MembershipView({ suspectMissed: 3, deadAfterMs: 5_000, retentionMs: 60_000 })
    const r = {
      v: 1 as const,
      peerId: 'a',
      name: 'a',
      roles: [],
      tenant: 'default',
      addrs: [],
      version: 't',
      incarnation: 5
    }
    v.heard(r, { record: 'r', sig: 's' }, { now: 0, seq: 10, intervalMs: 1_000 })
    const m = v.get('default', 'a')
    if (m === undefined) throw new Error('member missing')
    expect(v.isStale(m, 4, 99)).toBe(true)
    expect(v.isStale(m, 5, 10)).toBe(true)
    expect(v.isStale(m, 5, 11)).toBe(false)
    expect(v.isStale(m, 6, 1)).toBe(false)
    expect(v.isStale(m, 5)).toBe(false)
  })
})

describe('heartbeat interval', () => {
  it('stretches with the tenant to keep the budget, and the wire accepts it at every size', () => {
    const budget = DEFAULT_HEARTBEAT_BUDGET
    // About one heartbeat a minute for the whole tenant: 50 s per member.
    expect(heartbeatIntervalMs(10, 1_000, budget)).toBe(500_000)
    expect(heartbeatIntervalMs(1, 1_000, 100)).toBe(1_000)
    for (const size of [1, 34, 100, 1_000, 10_000, 1_000_000]) {
      const intervalMs = heartbeatIntervalMs(size, 1_000, budget)
      const beat = { type: 'beat', incarnation: 1, ref: 'abc', seq: 1, intervalMs }
      expect(presenceMessageSchema.safeParse(beat).success, `${size} members: ${intervalMs} ms`).toBe(true)
      const snapshot = { tenant: 't', members: [{ record: 'r', sig: 's', ageMs: 0, intervalMs }] }
      expect(syncSnapshotSchema.safeParse(snapshot).success, `${size} members`).toBe(true)
    }
  })
})
