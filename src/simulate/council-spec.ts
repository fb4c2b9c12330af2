/**
 * The council the simulator opens: three core and two optional roles, each agent able to hold two
 * of them, opened by agent 0 (the bootstrap peer, which faults never crash).
 */
import type { Descriptor } from '../council/index.js'
import type { CouncilMonitor } from './council-monitor.js'
import type { MembershipMonitor } from './monitor.js'
import type { World } from './world.js'

const ROLES = ['tpm', 'senior-software-architect', 'coder', 'tester', 'reviewer']

/** Longest a council may take to settle (simulated), once the membership view has converged. */
export const COUNCIL_SETTLE_LIMIT_MS = 60_000

export function openSimCouncil(world: World): void {
  const descriptor: Descriptor = {
    id: 'c-simulated',
    tenant: 'default',
    project: 'simulated',
    coreRoles: ROLES.slice(0, 3),
    optionalRoles: ROLES.slice(3),
    claimWindowMs: 2_000,
    ttlMs: Number.MAX_SAFE_INTEGER,
    maxRolesPerAgent: 1,
    createdAt: world.now,
    opener: world.slot(0).id
  }
  world.openCouncil({
    descriptor,
    roles: i => [ROLES[i % ROLES.length] as string, ROLES[(i + 1) % ROLES.length] as string]
  })
}

/**
 * Run until the council has settled (and `also` holds); returns the time from `from`, or records
 * a liveness violation and returns null.
 */
export function settle(
  world: World,
  monitor: MembershipMonitor,
  council: CouncilMonitor,
  from: number,
  what: string,
  also: () => boolean = () => true
): number | null {
  const done = (): boolean => council.settled() && also()
  world.run(world.now + COUNCIL_SETTLE_LIMIT_MS, done, 10)
  // The last roster applied is when it settled (the check itself runs every 10 ms).
  if (done()) return Math.max(0, Math.min(world.now, council.lastAppliedAt) - from)
  monitor.violate(
    'liveness',
    `${what}: the council did not settle within ${COUNCIL_SETTLE_LIMIT_MS} ms: ${council.divergence() ?? 'a condition of the scenario did not hold'}`
  )
  return null
}
