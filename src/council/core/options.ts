/** What a council core is made with, and its tuning. */
import * as C from '../constants.js'
import type { Descriptor, MembershipView, Persisted } from './types.js'

export interface CouncilCoreInit {
  self: string
  name: string
  /** Roles this agent can hold in this council (it claims those the council wants). */
  roles: string[]
  descriptor: Descriptor
  membership: MembershipView
  /** What this agent persisted before a restart. */
  persisted?: Persisted
}

export interface CouncilCoreOptions {
  /** @default PROPOSAL_TIMEOUT_MS */
  proposalTimeoutMs: number
  /** @default CLAIM_REPEAT_MS */
  claimRepeatMs: number
  /** @default CLAIM_GATHER_MS */
  gatherMs: number
  /** @default MEMBERS_EPOCH_MIN_INTERVAL_MS */
  membersEpochMinIntervalMs: number
  /** @default REANNOUNCE_MS */
  announceMs: number
  /** @default MAX_REANNOUNCE_MS */
  maxAnnounceMs: number
  /** @default RESTORE_SETTLE_MS */
  restoreSettleMs: number
  /** How often the timers are looked at. @default 250 */
  tickMs: number
}

export const DEFAULT_COUNCIL_CORE_OPTIONS: CouncilCoreOptions = {
  proposalTimeoutMs: C.PROPOSAL_TIMEOUT_MS,
  claimRepeatMs: C.CLAIM_REPEAT_MS,
  gatherMs: C.CLAIM_GATHER_MS,
  membersEpochMinIntervalMs: C.MEMBERS_EPOCH_MIN_INTERVAL_MS,
  announceMs: C.REANNOUNCE_MS,
  maxAnnounceMs: C.MAX_REANNOUNCE_MS,
  restoreSettleMs: C.RESTORE_SETTLE_MS,
  tickMs: 250
}
