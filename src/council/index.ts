export {
  Councils,
  proposalDigest,
  type ProposalBody,
  type CouncilsInit,
  type CouncilsComponents,
  type CouncilMembership,
  type CouncilView
} from './councils.js'
export type { CouncilState } from './council.js'
export { assignRoster, rank, type Claim, type AssignInput } from './roster.js'
export { openRequestSchema, councilMessageSchema, type Seat, type OpenRequest, type Descriptor } from './messages.js'
export { CouncilRequestError, UnknownCouncilError } from './errors.js'
export * as councilDefaults from './constants.js'
export { fileCouncilStore, type CouncilStore } from './store.js'
export { savedCouncilsSchema, type SavedCouncil } from './messages.js'
