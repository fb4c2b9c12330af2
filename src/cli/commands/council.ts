import { apiTarget, refused, type ApiTarget, type ApiTargetOptions } from '../api.js'
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK } from '../exit.js'
import { renderTable } from '../table.js'
import { UsageError } from '../errors.js'

interface CouncilJson {
  id: string
  project: string
  state: string
  epoch: number
  coordinator: string | null
  roster: Array<{ role: string; peerId: string; name: string }>
  reason?: string
}

export interface CouncilOpenOptions extends ApiTargetOptions {
  project?: string
  core?: string
  optional?: string
  claimWindowMs?: string
  ttlMs?: string
  tenant?: string
  wait?: boolean
  timeoutMs: string
}

const list = (raw: string | undefined): string[] =>
  (raw ?? '')
    .split(',')
    .map(s => s.trim())
    .filter(s => s !== '')

function integer(flag: string, raw: string | undefined): number | undefined | Error {
  if (raw === undefined) return undefined
  return /^\d+$/.test(raw) ? Number(raw) : new UsageError(`${flag}: "${raw}" is not a whole number`)
}

/** `conclave council open`: open a council through a running agent; with --wait, follow it until active. */
export async function councilOpenCommand(opts: CouncilOpenOptions): Promise<number> {
  const target = await apiTarget(opts)
  const base = target instanceof Error ? target : target.base
  const claimWindowMs = integer('--claim-window-ms', opts.claimWindowMs)
  const ttlMs = integer('--ttl-ms', opts.ttlMs)
  const timeoutMs = integer('--timeout-ms', opts.timeoutMs)
  for (const v of [base, claimWindowMs, ttlMs, timeoutMs]) {
    if (v instanceof Error) {
      process.stderr.write(`conclave: ${v.message}\n`)
      return EXIT_CONFIG
    }
  }
  const body = {
    project: opts.project,
    coreRoles: list(opts.core),
    optionalRoles: list(opts.optional),
    ...(claimWindowMs !== undefined ? { claimWindowMs } : {}),
    ...(ttlMs !== undefined ? { ttlMs } : {}),
    ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {})
  }
  let res: Response
  try {
    res = await (target as ApiTarget).fetch('/v1/councils', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000)
    })
  } catch (err) {
    process.stderr.write(`conclave: cannot reach ${base as string}: ${(err as Error).message}\n`)
    return EXIT_FAILURE
  }
  if (res.status === 401 || res.status === 403) return await refused(base as string, res)
  const answer = (await res.json().catch(() => ({}))) as { id?: string; error?: string; field?: string }
  if (res.status === 400) {
    const flag =
      {
        project: '--project',
        coreRoles: '--core',
        optionalRoles: '--optional',
        claimWindowMs: '--claim-window-ms',
        ttlMs: '--ttl-ms',
        tenant: '--tenant'
      }[(answer.field ?? '').split('.')[0] ?? ''] ?? 'council'
    process.stderr.write(`conclave: ${flag}: ${answer.error ?? 'refused'}\n`)
    return EXIT_CONFIG
  }
  if (!res.ok || answer.id === undefined) {
    process.stderr.write(`conclave: ${base as string} answered ${res.status}: ${answer.error ?? ''}\n`)
    return EXIT_FAILURE
  }
  process.stdout.write(`${answer.id}\n`)
  if (opts.wait !== true) return EXIT_OK
  const deadline = Date.now() + ((timeoutMs as number | undefined) ?? 60_000)
  let last = ''
  while (Date.now() < deadline) {
    const council = await (target as ApiTarget)
      .fetch(`/v1/councils/${answer.id}`, { signal: AbortSignal.timeout(5_000) })
      .then(async r => (await r.json()) as CouncilJson)
      .catch(() => undefined)
    const line =
      council === undefined
        ? 'waiting for the agent…'
        : `${council.state}, epoch ${council.epoch}, ${council.roster.length} seats`
    if (line !== last) process.stderr.write(`conclave: ${answer.id}: ${line}\n`)
    last = line
    if (council?.state === 'active') {
      process.stderr.write(
        renderTable(
          ['role', 'name', 'peer id'],
          council.roster.map(s => [s.role, s.name, s.peerId])
        ) + '\n'
      )
      return EXIT_OK
    }
    if (council?.state === 'failed' || council?.state === 'dissolved') {
      process.stderr.write(`conclave: ${answer.id} ${council.state}: ${council.reason ?? ''}\n`)
      return EXIT_FAILURE
    }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  process.stderr.write(`conclave: ${answer.id} not active after the timeout\n`)
  return EXIT_FAILURE
}

/** `conclave council list`: councils and rosters of a running agent. */
export async function councilListCommand(opts: ApiTargetOptions & { json?: boolean }): Promise<number> {
  const target = await apiTarget(opts)
  if (target instanceof Error) {
    process.stderr.write(`conclave: ${target.message}\n`)
    return EXIT_CONFIG
  }
  const base = target.base
  try {
    const res = await target.fetch('/v1/councils', { signal: AbortSignal.timeout(5_000) })
    if (!res.ok) return await refused(base, res)
    const councils = (await res.json()) as CouncilJson[]
    if (opts.json === true) {
      process.stdout.write(JSON.stringify(councils, null, 2) + '\n')
      return EXIT_OK
    }
    process.stdout.write(
      renderTable(
        ['id', 'project', 'state', 'epoch', 'roster'],
        councils.map(c => [
          c.id,
          c.project,
          c.state,
          String(c.epoch),
          c.roster.map(s => `${s.role}=${s.name}`).join(' ')
        ])
      ) + '\n'
    )
    return EXIT_OK
  } catch (err) {
    process.stderr.write(`conclave: cannot reach ${base}: ${(err as Error).message}\n`)
    return EXIT_FAILURE
  }
}
