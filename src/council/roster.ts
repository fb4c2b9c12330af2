import { createHash } from 'node:crypto'
import { MAX_CACHED_RANKS } from './constants.js'
import type { Seat } from './messages.js'

export interface Claim {
  peerId: string
  name: string
  roles: string[]
  /** Seats the claimant holds in other councils: fewer wins. */
  load: number
}

/** Ranks computed lately: sorts call `rank` twice per comparison, on every council tick. */
const ranks = new Map<string, string>()

/**
 * A stable pseudo-random rank of a peer within a council, so ties break the same way everywhere.
 * Cached: profiled at 34 agents in one process with 10 councils, hashing ranks afresh in sorts
 * (members ordered on every tick) took 2% of one core, and more in garbage.
 */
export function rank(councilId: string, peerId: string): string {
  const key = `${councilId}\u0000${peerId}`
  let r = ranks.get(key)
  if (r === undefined) {
    if (ranks.size >= MAX_CACHED_RANKS) ranks.clear()
    r = createHash('sha256').update(key).digest('hex')
    ranks.set(key, r)
  }
  return r
}

export interface AssignInput {
  councilId: string
  coreRoles: string[]
  optionalRoles: string[]
  claims: Claim[]
  maxRolesPerAgent: number
  /** Current holders: kept in their seats when still eligible, so a failover moves one seat only. */
  current?: Seat[]
}

/**
 * The roster as a deterministic function of the claims: core roles first, then optional ones,
 * in the order requested. For each role, a current holder keeps it; otherwise the eligible
 * claimant with the lowest load, then the lowest rank, takes it. Core roles are settled before
 * any optional seat is kept. Every agent computing this from the same claims gets the same roster.
 */
export function assignRoster(input: AssignInput): { roster: Seat[]; unfilled: string[] } {
  const held = new Map<string, number>()
  const chosen = new Map<string, Claim>()
  const byPeer = new Map(input.claims.map(c => [c.peerId, c]))
  const roles = [...input.coreRoles, ...input.optionalRoles.filter(r => !input.coreRoles.includes(r))]
  const take = (role: string, claim: Claim): void => {
    chosen.set(role, claim)
    held.set(claim.peerId, (held.get(claim.peerId) ?? 0) + 1)
  }
  const release = (role: string): Claim | undefined => {
    const claim = chosen.get(role)
    if (claim === undefined) return undefined
    chosen.delete(role)
    held.set(claim.peerId, (held.get(claim.peerId) ?? 1) - 1)
    return claim
  }
  /** Seat `role` (moving seats among `movable` roles if need be); false, and nothing changed, if it cannot be. */
  const augment = (role: string, movable: Set<string>, visited: Set<string>): boolean => {
    for (const c of ordered) {
      if (!c.roles.includes(role) || visited.has(c.peerId)) continue
      visited.add(c.peerId)
      if ((held.get(c.peerId) ?? 0) < input.maxRolesPerAgent) {
        take(role, c)
        return true
      }
      for (const [other, holder] of [...chosen]) {
        if (holder.peerId !== c.peerId || !movable.has(other)) continue
        release(other)
        if (augment(other, movable, visited)) {
          take(role, c)
          return true
        }
        take(other, c)
      }
    }
    return false
  }
  const ordered = [...input.claims].sort(
    (a, b) => a.load - b.load || (rank(input.councilId, a.peerId) < rank(input.councilId, b.peerId) ? -1 : 1)
  )
  const unfilled: string[] = []
  const optional = roles.filter(r => !input.coreRoles.includes(r))
  const seatedOptional = new Set(input.current?.filter(s => optional.includes(s.role)).map(s => s.peerId))
  // Core roles first, then optional ones. Within each group current holders keep their seats, so
  // a failover moves only the seats it must; a holder of an optional seat may move to a core seat
  // nobody else can take (with one seat per agent, keeping it would leave the core role empty).
  for (const group of [input.coreRoles, optional]) {
    for (const role of group) {
      const seat = input.current?.find(s => s.role === role)
      const claim = seat === undefined ? undefined : byPeer.get(seat.peerId)
      if (claim?.roles.includes(role) === true && (held.get(claim.peerId) ?? 0) < input.maxRolesPerAgent) {
        take(role, claim)
      }
    }
    for (const role of group) {
      if (chosen.has(role)) continue
      const free = (c: Claim): boolean => c.roles.includes(role) && (held.get(c.peerId) ?? 0) < input.maxRolesPerAgent
      // A claimant seated in an optional role moves only when no other can take the seat.
      const pick = ordered.find(c => free(c) && !seatedOptional.has(c.peerId)) ?? ordered.find(free)
      if (pick !== undefined) take(role, pick)
    }
    // A role still empty may be filled by moving a seated claimant of this group to another seat
    // of the group that someone else can take (an augmenting path, as in bipartite matching).
    for (const role of group) if (!chosen.has(role) && !augment(role, new Set(group), new Set())) unfilled.push(role)
  }
  const roster = roles.flatMap(role => {
    const c = chosen.get(role)
    return c === undefined ? [] : [{ role, peerId: c.peerId, name: c.name }]
  })
  return { roster, unfilled }
}
