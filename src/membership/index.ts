export {
  Membership,
  type MembershipInit,
  type MembershipComponents,
  type PeerView,
  type RoleHolder,
  type GossipRecorder
} from './membership.js'
export {
  MembershipView,
  type Member,
  type MemberState,
  type MemberChange,
  type ViewInit,
  type Sighting
} from './view.js'
export { signRecord, openRecord, type PresenceRecord, type SignedRecord } from './record.js'
export { PRESENCE_CHANNEL, SYNC_PROTOCOL } from './constants.js'
