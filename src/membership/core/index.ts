export { MembershipCore, type CoreBugs } from './core.js'
export { DEFAULT_CORE_OPTIONS, pushPullInterval, retransmitLimit, type CoreOptions } from './options.js'
export { suspicionBounds, suspicionDeadline } from './suspicion.js'
export { Broadcasts } from './broadcasts.js'
export type { Member as CoreMember } from './state.js'
export type {
  CoreIdentity,
  Effect,
  Input,
  MemberChange as CoreChange,
  PeerState,
  SyncEntry,
  Update,
  Wire
} from './types.js'
