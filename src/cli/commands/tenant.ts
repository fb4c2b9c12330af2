import { readFile, writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import {
  createTenant,
  issueApiToken,
  issueCredential,
  readTenantFile,
  rotateTenant,
  SCOPES,
  tenancyDefaults,
  tenantStateSchema,
  writeCredentialFile,
  writeTenantFile,
  readStateClaims,
  type Scope,
  type TenantState
} from '../../tenancy/index.js'
import { apiTarget } from '../api.js'
import { parseDuration } from '../duration.js'
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK } from '../exit.js'
import { AgentRefusedError } from '../errors.js'

/** A usage problem: reported with exit code 2. */
class UsageError extends Error {}

function fail(err: unknown): number {
  process.stderr.write(`conclave: ${(err as Error).message}\n`)
  return err instanceof UsageError || (err as Error).name === 'TenantFileError' ? EXIT_CONFIG : EXIT_FAILURE
}

function required(flag: string, value: string | undefined): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`${flag} is required`)
  return value
}

/** `conclave tenant create`: a new tenant authority and its first group key, in a 0600 file. */
export async function tenantCreateCommand(opts: { id?: string; out?: string; force?: boolean }): Promise<number> {
  try {
    const id = required('--id', opts.id)
    const out = resolve(opts.out ?? `${id}.tenant.json`)
    const file = await createTenant(id)
    try {
      await writeTenantFile(out, file, opts.force !== true)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new UsageError(
          `${out} already exists (use --force to replace it: every credential it issued stops working)`
        )
      }
      throw err
    }
    process.stdout.write(`${out}\n`)
    process.stderr.write(
      `conclave: tenant ${id} created; its authority key is in ${out} (keep it offline, mode 0600)\n`
    )
    return EXIT_OK
  } catch (err) {
    return fail(err)
  }
}

/** `conclave tenant issue`: a credential binding one peer id to the tenant, with roles and a validity window. */
export async function tenantIssueCommand(opts: {
  tenant?: string
  peer?: string
  roles?: string
  ttl?: string
  out?: string
}): Promise<number> {
  try {
    const tenantPath = resolve(required('--tenant', opts.tenant))
    const peer = required('--peer', opts.peer)
    const out = resolve(required('--out', opts.out))
    const ttlMs = opts.ttl === undefined ? tenancyDefaults.DEFAULT_CREDENTIAL_TTL_MS : parseDuration('--ttl', opts.ttl)
    if (ttlMs instanceof Error) throw new UsageError(ttlMs.message)
    const roles = (opts.roles ?? '')
      .split(',')
      .map(r => r.trim())
      .filter(r => r !== '')
    for (const role of roles) {
      if (role !== tenancyDefaults.ANY_ROLE && !/^[a-z0-9][a-z0-9-]{0,63}$/.test(role)) {
        throw new UsageError(`--roles: role "${role}" must be lower-case letters, digits and '-'`)
      }
    }
    const tenant = await readTenantFile(tenantPath)
    const { file, credential } = await issueCredential(tenant, { peer, roles, ttlMs })
    await writeCredentialFile(out, credential)
    await writeTenantFile(tenantPath, file)
    process.stdout.write(`${out}\n`)
    process.stderr.write(
      `conclave: credential for ${peer} in tenant ${tenant.tenant} (roles ${roles.length === 0 ? '*' : roles.join(',')}) valid until ${new Date(Date.now() + ttlMs).toISOString()}\n`
    )
    return EXIT_OK
  } catch (err) {
    return fail(err)
  }
}

/** `conclave tenant token`: an API token of the tenant, printed alone on one line of stdout. */
export async function tenantTokenCommand(opts: {
  tenant?: string
  scope?: string
  ttl?: string
  name?: string
}): Promise<number> {
  try {
    const tenantPath = resolve(required('--tenant', opts.tenant))
    const scope = required('--scope', opts.scope)
    if (!(SCOPES as readonly string[]).includes(scope)) {
      throw new UsageError(`--scope: "${scope}" is not one of ${SCOPES.join(', ')}`)
    }
    const ttlMs = opts.ttl === undefined ? tenancyDefaults.DEFAULT_TOKEN_TTL_MS : parseDuration('--ttl', opts.ttl)
    if (ttlMs instanceof Error) throw new UsageError(ttlMs.message)
    if (opts.name !== undefined && (opts.name.trim() === '' || opts.name.length > 128)) {
      throw new UsageError('--name: must be 1-128 characters')
    }
    const tenant = await readTenantFile(tenantPath)
    const { file, token, claims } = await issueApiToken(tenant, {
      scope: scope as Scope,
      ttlMs,
      ...(opts.name !== undefined ? { name: opts.name.trim() } : {})
    })
    await writeTenantFile(tenantPath, file)
    process.stdout.write(`${token}\n`)
    process.stderr.write(
      `conclave: token ${claims.id} of tenant ${tenant.tenant} (scope ${scope}) valid until ${new Date(claims.notAfter).toISOString()}; revoke it with \`conclave tenant revoke --tenant ${opts.tenant ?? ''} --token ${claims.id}\`\n`
    )
    return EXIT_OK
  } catch (err) {
    return fail(err)
  }
}

interface ApiFlags {
  api?: string
  apiToken?: string
  dataDir?: string
}

/**
 * `conclave tenant revoke` and `conclave tenant rotate`: a new epoch with a fresh group key
 * sealed for every member still admitted, written to --out and, with --api, handed to a running
 * member, which adopts it and gossips it to the tenant.
 */
export async function tenantRotateCommand(
  opts: ApiFlags & { tenant?: string; peer?: string; token?: string; out?: string },
  revoke: boolean
): Promise<number> {
  try {
    const tenantPath = resolve(required('--tenant', opts.tenant))
    const ids = (raw: string | undefined): string[] =>
      (raw ?? '')
        .split(',')
        .map(p => p.trim())
        .filter(p => p !== '')
    const peers = revoke ? ids(opts.peer) : []
    const tokens = revoke ? ids(opts.token) : []
    if (revoke && peers.length === 0 && tokens.length === 0) throw new UsageError('--peer or --token is required')
    const tenant = await readTenantFile(tenantPath)
    for (const peer of peers) {
      if (!tenant.members.some(m => m.peer === peer)) {
        throw new UsageError(`--peer: ${peer} holds no credential of tenant ${tenant.tenant}`)
      }
    }
    for (const id of tokens) {
      if (!(tenant.tokens ?? []).some(t => t.id === id)) {
        throw new UsageError(
          `--token: ${id} is not a token of tenant ${tenant.tenant} (ids are in ${tenantPath} under "tokens")`
        )
      }
    }
    const { file, state } = await rotateTenant(tenant, peers, Date.now(), tokens)
    await writeTenantFile(tenantPath, file)
    const out = resolve(opts.out ?? `${tenant.tenant}.state-${file.epoch}.json`)
    await writeFile(out, JSON.stringify(state, null, 2) + '\n')
    process.stdout.write(`${out}\n`)
    const revoked = [...peers, ...tokens.map(id => `token ${id}`)]
    process.stderr.write(
      `conclave: tenant ${tenant.tenant} is at epoch ${file.epoch}${revoked.length > 0 ? `; revoked ${revoked.join(', ')}` : ''}\n`
    )
    if (opts.api !== undefined) return await publishState(tenant.tenant, state, opts)
    process.stderr.write(
      `conclave: hand it to any member with \`conclave tenant publish --state ${out} --api <agent URL>\`\n`
    )
    return EXIT_OK
  } catch (err) {
    return fail(err)
  }
}

/** `conclave tenant publish`: give a tenant state file to a running member, which gossips it. */
export async function tenantPublishCommand(opts: ApiFlags & { state?: string }): Promise<number> {
  try {
    const path = resolve(required('--state', opts.state))
    let state: TenantState
    try {
      state = tenantStateSchema.parse(JSON.parse(await readFile(path, 'utf8')))
    } catch (err) {
      throw new UsageError(
        `--state: ${path} is not a tenant state file (${(err as Error).message.split('\n')[0] ?? ''})`
      )
    }
    const claims = readStateClaims(state)
    if (claims === undefined) throw new UsageError(`--state: ${path} holds no readable tenant state`)
    required('--api', opts.api)
    return await publishState(claims.tenant, state, opts)
  } catch (err) {
    return fail(err)
  }
}

async function publishState(tenant: string, state: TenantState, opts: ApiFlags): Promise<number> {
  const target = await apiTarget({
    ...(opts.api !== undefined ? { api: opts.api } : {}),
    ...(opts.apiToken !== undefined ? { token: opts.apiToken } : {}),
    ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {})
  })
  if (target instanceof Error) throw new UsageError(target.message)
  const base = target.base
  const res = await target.fetch(`/v1/tenants/${encodeURIComponent(tenant)}/state`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(state),
    signal: AbortSignal.timeout(10_000)
  })
  const body = (await res.json().catch(() => ({}))) as { result?: string; error?: string }
  if (!res.ok) throw new AgentRefusedError(`${base} refused the state: ${body.error ?? res.status}`)
  process.stderr.write(
    `conclave: ${base} ${body.result === 'stale' ? 'already had this state' : 'adopted the state and is gossiping it'}\n`
  )
  return EXIT_OK
}
