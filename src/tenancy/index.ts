export { TOPIC_PREFIX, DEFAULT_TENANT, topicFor, parseTopic, isValidTenantId } from './namespace.js'
export {
  Tenancy,
  type TenancyInit,
  type TenancyComponents,
  type TenancyRecorder,
  type TenantChannel,
  type TenantMessage,
  type ChannelHandler,
  type ChannelOptions,
  type Verdict
} from './tenancy.js'
export { TenantKeyring, type StateChange } from './keyring.js'
export {
  createTenant,
  issueCredential,
  issueApiToken,
  rotateTenant,
  readTenantFile,
  writeTenantFile,
  readCredentialFile,
  writeCredentialFile,
  type TenantFile,
  type CredentialFile,
  type IssueOptions,
  type TokenOptions
} from './authority.js'
export {
  credentialRef,
  credentialSchema,
  readCredentialClaims,
  grantsRole,
  type Credential,
  type CredentialClaims,
  type CredentialProblem
} from './credential.js'
export { readStateClaims, tenantStateSchema, type TenantState, type TenantStateClaims } from './state.js'
export { encodeHeader, encodeEnvelope, decodeEnvelope, type EnvelopeHeader } from './envelope.js'
export {
  loadTenants,
  issueKeyring,
  checkCredentialFile,
  readSavedState,
  saveState,
  type LoadTenantsOptions
} from './load.js'
export { TenantFileError, CredentialError, NotATenantMemberError } from './errors.js'
export * as tenancyDefaults from './constants.js'
export {
  SCOPES,
  TOKEN_PREFIX,
  grantsScope,
  readTokenClaims,
  type Scope,
  type TokenClaims,
  type TokenProblem
} from './token.js'
