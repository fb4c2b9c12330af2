import { fromString } from 'uint8arrays'
import { CREDENTIAL_CACHE_SIZE, PREVIOUS_EPOCH_GRACE_MS } from './constants.js'
import {
  admits,
  credentialRef,
  verifyCredential,
  type Credential,
  type CredentialClaims,
  type CredentialProblem
} from './credential.js'
import type { CredentialFile } from './authority.js'
import { readStateClaims, verifyState, unsealGroupKey, type TenantState, type TenantStateClaims } from './state.js'
import { verifyToken, type TokenClaims, type TokenProblem } from './token.js'

/** What a tenant state did to this agent's keyring. */
export interface StateChange {
  epoch: number
  /** Peers revoked by this state that were not revoked before. */
  revoked: string[]
  /** This agent is among the revoked: it cannot read the new epoch. */
  selfRevoked: boolean
}

/**
 * One tenant as this agent holds it: its authority, the group keys it can read, who is revoked,
 * and the credentials it has verified. An open tenant (no authority) has none of these.
 */
export class TenantKeyring {
  readonly tenant: string
  /** The authority's raw public key (base64); undefined for the open tenant. */
  readonly authority?: string
  readonly credential?: Credential
  readonly credentialRef?: string
  readonly claims?: CredentialClaims
  private readonly self: string
  private readonly memberKey?: Uint8Array
  private readonly keys = new Map<number, { key: Uint8Array; supersededAt?: number }>()
  private readonly verified = new Map<string, CredentialClaims>()
  private currentEpoch = 0
  private stateEpoch = 0
  private latestState?: TenantState
  private revokedPeers = new Set<string>()
  private revokedTokens = new Set<string>()

  private constructor(tenant: string, self: string, file?: CredentialFile, claims?: CredentialClaims) {
    this.tenant = tenant
    this.self = self
    if (file !== undefined && claims !== undefined) {
      this.authority = claims.authority
      this.credential = file.credential
      this.credentialRef = credentialRef(file.credential)
      this.claims = claims
      this.memberKey = fromString(file.memberKey, 'base64')
      this.keys.set(file.epoch, { key: fromString(file.groupKey, 'base64') })
      this.currentEpoch = file.epoch
      this.verified.set(this.credentialRef, claims)
    }
  }

  static open(tenant: string, self: string): TenantKeyring {
    return new TenantKeyring(tenant, self)
  }

  /** A keyring from a credential file already checked to be signed by its authority. */
  static async fromCredential(
    file: CredentialFile,
    claims: CredentialClaims,
    self: string,
    now = Date.now()
  ): Promise<TenantKeyring> {
    const ring = new TenantKeyring(claims.tenant, self, file, claims)
    if (file.state !== undefined) await ring.applyState(file.state, now)
    return ring
  }

  get authenticated(): boolean {
    return this.authority !== undefined
  }
  get epoch(): number {
    return this.currentEpoch
  }
  get state(): TenantState | undefined {
    return this.latestState
  }
  get revoked(): ReadonlySet<string> {
    return this.revokedPeers
  }
  /** Whether this agent's own credential has been revoked. */
  get selfRevoked(): boolean {
    return this.revokedPeers.has(this.self)
  }

  /**
   * Check an API token of this tenant: signed by its authority, within its validity, not revoked
   * by the latest state. The open tenant has no authority, so it verifies no token.
   */
  async verifyToken(token: string, now = Date.now()): Promise<TokenClaims | TokenProblem> {
    if (this.authority === undefined) return 'unknown tenant'
    return await verifyToken(token, this.authority, this.revokedTokens, now)
  }

  /** The current group key, or undefined in the open tenant or when this agent was revoked. */
  currentKey(): { epoch: number; key: Uint8Array } | undefined {
    const entry = this.keys.get(this.currentEpoch)
    return entry === undefined ? undefined : { epoch: this.currentEpoch, key: entry.key }
  }

  /** The key that opens messages of `epoch`: the current one, or the previous one during its grace period. */
  keyFor(epoch: number, now = Date.now()): Uint8Array | undefined {
    const entry = this.keys.get(epoch)
    if (entry === undefined) return undefined
    if (entry.supersededAt !== undefined && now - entry.supersededAt > PREVIOUS_EPOCH_GRACE_MS) return undefined
    return entry.key
  }

  /** The key to seal a message for `epoch` with, if this agent holds it (used for control messages). */
  heldKey(epoch: number): Uint8Array | undefined {
    return this.keys.get(epoch)?.key
  }

  /**
   * Check a credential presented by `peer` (inline or by reference). Signature checks are cached
   * by reference; validity, binding, revocation and roles are checked every time.
   */
  async check(
    peer: string,
    presented: { credential?: Credential; ref?: string },
    roles: readonly string[] = [],
    now = Date.now()
  ): Promise<CredentialClaims | CredentialProblem | 'unknown-credential'> {
    if (this.authority === undefined) return 'malformed-credential'
    let claims: CredentialClaims | undefined
    if (presented.credential !== undefined) {
      const ref = credentialRef(presented.credential)
      claims = this.verified.get(ref)
      if (claims === undefined) {
        const result = await verifyCredential(presented.credential, this.tenant, this.authority)
        if (typeof result === 'string') return result
        claims = result
        if (this.verified.size >= CREDENTIAL_CACHE_SIZE) this.verified.clear()
        this.verified.set(ref, claims)
      }
    } else if (presented.ref !== undefined) {
      claims = this.verified.get(presented.ref)
      if (claims === undefined) return 'unknown-credential'
    } else {
      return 'unknown-credential'
    }
    return admits(claims, { peer, now, revoked: this.revokedPeers, roles }) ?? claims
  }

  /**
   * Adopt a tenant state signed by the authority if it is newer than the one held. Returns what
   * changed, 'stale' for a state not newer, or 'invalid' for one not signed by the authority.
   */
  async applyState(state: TenantState, now = Date.now()): Promise<StateChange | 'stale' | 'invalid'> {
    if (this.authority === undefined) return 'invalid'
    // Every sync carries the peer's state: skip the signature check for one not newer than ours.
    const unverified = readStateClaims(state)
    if (unverified === undefined || unverified.tenant !== this.tenant) return 'invalid'
    if (unverified.epoch <= this.stateEpoch) return 'stale'
    const claims = await verifyState(state, this.tenant, this.authority)
    if (claims === undefined) return 'invalid'
    return this.adopt(state, claims, now)
  }

  private adopt(state: TenantState, claims: TenantStateClaims, now: number): StateChange {
    const before = this.revokedPeers
    this.revokedPeers = new Set(claims.revoked)
    this.revokedTokens = new Set(claims.revokedTokens ?? [])
    this.stateEpoch = claims.epoch
    this.latestState = state
    if (claims.epoch > this.currentEpoch && this.memberKey !== undefined) {
      const key = unsealGroupKey(claims, this.memberKey, this.self)
      if (key !== undefined) {
        const previous = this.keys.get(this.currentEpoch)
        if (previous !== undefined) previous.supersededAt = now
        for (const epoch of this.keys.keys()) if (epoch < this.currentEpoch) this.keys.delete(epoch)
        this.keys.set(claims.epoch, { key })
        this.currentEpoch = claims.epoch
      }
    }
    if (this.revokedPeers.has(this.self)) this.keys.clear()
    return {
      epoch: claims.epoch,
      revoked: claims.revoked.filter(p => !before.has(p)),
      selfRevoked: this.revokedPeers.has(this.self)
    }
  }
}
