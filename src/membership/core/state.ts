/**
 * The member table and SWIM's rules for news about other members: higher incarnations win, at one
 * incarnation suspect beats alive and dead beats suspect, and nobody but the member itself can
 * raise its incarnation. News about this agent itself is the core's business (it refutes).
 */
import { confirm, newSuspicion, suspicionDeadline, type Suspicion } from './suspicion.js'
import type { MemberChange, PeerState, Update } from './types.js'

export interface Member {
  peer: string
  incarnation: number
  state: PeerState
  /** The member's tenants this agent shares with it (sorted). */
  tenants: string[]
  meta?: string
  /** Local time the current state began. */
  since: number
  suspicion?: Suspicion
}

/** What applying one piece of news did: the change to report, and whether to pass the news on. */
export interface Applied {
  change?: MemberChange
  /** Pass the news on (it was new here). */
  spread: boolean
}

const NOTHING: Applied = { spread: false }

export function isLive(m: Member): boolean {
  return m.state === 'alive' || m.state === 'suspect'
}

function changeOf(m: Member, previous: PeerState | undefined, reason: string): MemberChange {
  return {
    peer: m.peer,
    state: m.state,
    ...(previous !== undefined ? { previous } : {}),
    incarnation: m.incarnation,
    tenants: m.tenants,
    ...(m.meta !== undefined ? { meta: m.meta } : {}),
    reason
  }
}

/**
 * One frozen array per distinct tenant list, shared by every table in the process: a mesh of
 * thousands holds a handful of lists, not one per member per agent.
 */
const lists = new Map<string, readonly string[]>()
const MAX_LISTS = 10_000

export function tenantList(tenants: readonly string[]): string[] {
  const sorted = [...new Set(tenants)].sort()
  const key = sorted.join('\n')
  const known = lists.get(key)
  if (known !== undefined) return known as string[]
  const list = Object.freeze(sorted)
  if (lists.size < MAX_LISTS) lists.set(key, list)
  return list as string[]
}

function union(a: string[], b: string[]): string[] {
  return tenantList([...a, ...b])
}

/** A set with O(1) insertion, removal and random pick. */
export class IndexedSet {
  readonly items: string[] = []
  private readonly at = new Map<string, number>()

  get size(): number {
    return this.items.length
  }
  has(x: string): boolean {
    return this.at.has(x)
  }
  add(x: string): void {
    if (this.at.has(x)) return
    this.at.set(x, this.items.length)
    this.items.push(x)
  }

  delete(x: string): void {
    const i = this.at.get(x)
    if (i === undefined) return
    const last = this.items.pop() as string
    this.at.delete(x)
    if (last !== x) {
      this.items[i] = last
      this.at.set(last, i)
    }
  }
}

export class MemberTable {
  readonly members = new Map<string, Member>()
  /** Other members alive or suspect. */
  readonly live = new IndexedSet()
  /** Other members dead (not left). */
  readonly dead = new IndexedSet()
  private readonly suspects = new Set<string>()
  private readonly downSet = new Set<string>()
  private readonly mine: Set<string>

  constructor(
    readonly self: string,
    tenants: string[]
  ) {
    this.mine = new Set(tenants)
  }

  /** Put `m` in `state`, keeping the indices. */
  set(m: Member, state: PeerState): void {
    m.state = state
    if (m.peer === this.self) return
    if (isLive(m)) {
      this.live.add(m.peer)
      this.downSet.delete(m.peer)
    } else {
      this.live.delete(m.peer)
      this.downSet.add(m.peer)
    }
    if (state === 'dead') this.dead.add(m.peer)
    else this.dead.delete(m.peer)
    if (state === 'suspect') this.suspects.add(m.peer)
    else this.suspects.delete(m.peer)
  }

  add(m: Member): void {
    this.members.set(m.peer, m)
    this.set(m, m.state)
  }

  get(peer: string): Member | undefined {
    return this.members.get(peer)
  }

  /** Tenants of `tenants` this agent belongs to. */
  shared(tenants: string[]): string[] {
    for (const t of tenants) if (!this.mine.has(t)) return tenants.filter(x => this.mine.has(x))
    return tenants
  }

  /** Members alive or suspect, this agent included: the size SWIM's formulas scale with. */
  liveCount(): number {
    return this.live.size + 1
  }

  /** `alive` news: a new member, a member's return, a new incarnation, or more of its tenants. */
  alive(u: Extract<Update, { kind: 'alive' }>, now: number): Applied {
    const tenants = this.shared(u.tenants)
    if (tenants.length === 0) return NOTHING
    // Already known at this incarnation with these tenants: the common case, decided without allocating.
    const known = this.members.get(u.peer)
    if (known !== undefined && u.incarnation === known.incarnation && tenants.every(t => known.tenants.includes(t))) {
      return NOTHING
    }
    const m = this.members.get(u.peer)
    if (m === undefined) {
      const added: Member = {
        peer: u.peer,
        incarnation: u.incarnation,
        state: 'alive',
        tenants: tenantList(tenants),
        ...(u.meta !== undefined ? { meta: u.meta } : {}),
        since: now
      }
      this.add(added)
      return { change: changeOf(added, undefined, 'joined'), spread: true }
    }
    if (u.incarnation < m.incarnation) return NOTHING
    if (u.incarnation === m.incarnation) {
      // The same incarnation from another relay may name tenants the first relay left out.
      const more = union(m.tenants, tenants)
      if (more.length === m.tenants.length || !isLive(m)) return NOTHING
      m.tenants = more
      return { change: changeOf(m, m.state, 'tenants'), spread: true }
    }
    const previous = m.state
    m.incarnation = u.incarnation
    m.tenants = tenantList(tenants)
    if (u.meta !== undefined) m.meta = u.meta
    this.set(m, 'alive')
    delete m.suspicion
    if (previous !== 'alive') m.since = now
    const reason = previous === 'suspect' ? 'refuted' : previous === 'alive' ? 'updated' : 'rejoined'
    return { change: changeOf(m, previous, reason), spread: true }
  }

  /**
   * `suspect` news about another member. A suspicion of the same incarnation from a new member
   * confirms it (shortening the timeout); it is passed on so that others count it too.
   */
  suspect(
    u: Extract<Update, { kind: 'suspect' }>,
    now: number,
    bounds: { min: number; max: number },
    expected: number
  ): Applied {
    const m = this.members.get(u.peer)
    if (m === undefined || u.incarnation < m.incarnation || !isLive(m)) return NOTHING
    if (m.state === 'suspect' && u.incarnation === m.incarnation && m.suspicion !== undefined) {
      return { spread: confirm(m.suspicion, u.from) }
    }
    const previous = m.state
    m.incarnation = u.incarnation
    this.set(m, 'suspect')
    m.since = now
    m.suspicion = newSuspicion(u.from, now, bounds, expected)
    return { change: changeOf(m, previous, 'suspected'), spread: true }
  }

  /** `dead` or `left` news about another member. */
  down(u: Extract<Update, { kind: 'dead' | 'left' }>, now: number): Applied {
    const m = this.members.get(u.peer)
    if (m === undefined || u.incarnation < m.incarnation) return NOTHING
    const state: PeerState = u.kind === 'left' ? 'left' : 'dead'
    if (m.state === 'left' || (m.state === 'dead' && state === 'dead')) return NOTHING
    const previous = m.state
    m.incarnation = u.incarnation
    this.set(m, state)
    m.since = now
    delete m.suspicion
    return { change: changeOf(m, previous, state === 'left' ? 'left' : 'confirmed-dead'), spread: true }
  }

  /** Suspects whose time ran out: declared dead now. */
  expire(now: number): Member[] {
    const out: Member[] = []
    for (const peer of this.suspects) {
      const m = this.members.get(peer)
      if (m?.suspicion !== undefined && suspicionDeadline(m.suspicion) <= now) out.push(m)
    }
    return out
  }

  /** Forget members down for longer than `retentionMs`. */
  forget(now: number, retentionMs: number): MemberChange[] {
    const out: MemberChange[] = []
    for (const peer of this.downSet) {
      const m = this.members.get(peer)
      if (m !== undefined && now - m.since >= retentionMs) {
        this.members.delete(peer)
        this.downSet.delete(peer)
        this.dead.delete(peer)
        out.push(changeOf(m, m.state, 'forgotten'))
      }
    }
    return out
  }

  /** The earliest suspicion deadline, or Infinity. */
  nextDeadline(): number {
    let at = Infinity
    for (const peer of this.suspects) {
      const s = this.members.get(peer)?.suspicion
      if (s !== undefined) at = Math.min(at, suspicionDeadline(s))
    }
    return at
  }
}

export { changeOf }
