export { CouncilCore, type CoreCouncilState } from './core.js'
export { DEFAULT_COUNCIL_CORE_OPTIONS, type CouncilCoreInit, type CouncilCoreOptions } from './options.js'
export {
  digestOf,
  mayAck,
  nextEpoch,
  provesMajority,
  quorum,
  restoredPromise,
  sameRoster,
  sameSet,
  type CouncilBugs
} from './rules.js'
export type { Commit, Effect, Input, MembershipView, Persisted, Proposal, Wire } from './types.js'
