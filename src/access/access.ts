/**
 * Who may use the HTTP API, and for what. A request carries a bearer token: the agent's operator
 * token (admin on every tenant it belongs to) or an API token signed by a tenant's authority
 * (one tenant, one scope). Everything here is checked offline, against keys the agent holds.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import {
  grantsScope,
  readTokenClaims,
  TOKEN_PREFIX,
  type Scope,
  type TenantKeyring,
  type TokenProblem
} from '../tenancy/index.js'
import { OneTimeCodes } from './codes.js'
import { LOGIN_CODE_TTL_MS, TICKET_TTL_MS } from './constants.js'

/** What an authenticated request may do. */
export interface Grant {
  scope: Scope
  /** The one tenant granted; undefined grants every tenant of the agent (the operator token). */
  tenant?: string
  /** The API token's id (absent for the operator token). */
  tokenId?: string
}

export interface AccessInit {
  operatorToken: string
  /** The keyring of a tenant this agent belongs to (undefined while starting, or for others). */
  keyring: (tenant: string) => TenantKeyring | undefined
  /** @default Date.now */
  now?: () => number
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest()

/** Whether `grant` covers `tenant`. */
export function grantsTenant(grant: Grant, tenant: string): boolean {
  return grant.tenant === undefined || grant.tenant === tenant
}

/** Whether `grant` covers `scope`. */
export function grantsScopeOf(grant: Grant, scope: Scope): boolean {
  return grantsScope(grant.scope, scope)
}

export class Access {
  private readonly operatorDigest: Buffer
  private readonly keyring: AccessInit['keyring']
  private readonly now: () => number
  private readonly logins = new OneTimeCodes<true>()
  private readonly tickets = new OneTimeCodes<Grant>()
  readonly operatorToken: string

  constructor(init: AccessInit) {
    this.operatorToken = init.operatorToken
    this.operatorDigest = digest(init.operatorToken)
    this.keyring = init.keyring
    this.now = init.now ?? Date.now
  }

  /** The grant of a bearer token, or why it grants nothing. */
  async authenticate(token: string): Promise<Grant | TokenProblem> {
    if (timingSafeEqual(digest(token), this.operatorDigest)) return { scope: 'admin' }
    if (!token.startsWith(`${TOKEN_PREFIX}.`)) return 'malformed'
    const claims = readTokenClaims(token)
    if (claims === undefined) return 'malformed'
    const ring = this.keyring(claims.tenant)
    if (ring === undefined) return 'unknown tenant'
    const verified = await ring.verifyToken(token, this.now())
    if (typeof verified === 'string') return verified
    return { scope: verified.scope, tenant: verified.tenant, tokenId: verified.id }
  }

  /** A one-time code that logs a browser in as operator (`/#login=<code>` on the dashboard). */
  loginCode(): string {
    return this.logins.mint(true, LOGIN_CODE_TTL_MS, this.now())
  }

  /** The operator token for a login code, once. */
  redeemLogin(code: string): string | undefined {
    return this.logins.redeem(code, this.now()) === true ? this.operatorToken : undefined
  }

  /** A one-time ticket that opens the event stream with `grant` (EventSource cannot send headers). */
  ticket(grant: Grant): { ticket: string; expiresInMs: number } {
    return { ticket: this.tickets.mint(grant, TICKET_TTL_MS, this.now()), expiresInMs: TICKET_TTL_MS }
  }

  redeemTicket(ticket: string): Grant | undefined {
    return this.tickets.redeem(ticket, this.now())
  }
}
