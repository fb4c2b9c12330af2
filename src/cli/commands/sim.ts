import { configDefaults } from '../../config/index.js'
import { createLogger, type LogLevel } from '../../logger/index.js'
import { federationProblems, runFederation, Sim, type FederationReport } from '../../sim/index.js'
import { isValidTenantId } from '../../tenancy/index.js'
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK } from '../exit.js'
import { UsageError } from '../errors.js'

export interface SimOptions {
  agents: string
  httpBasePort: string
  tenants: string
  open?: boolean
  mdns?: boolean
  mdnsServiceTag?: string
  exitWhenConverged?: boolean
  timeoutMs: string
  json?: boolean
  logLevel: string
  scenario?: string
  iterations: string
}

const SCENARIOS = ['federation']

/** `conclave sim --scenario federation`: run it, print the report, exit 1 if it misses the bar. */
async function federationCommand(opts: SimOptions, httpBasePort: number): Promise<number> {
  const iterations = positiveInt('--iterations', opts.iterations, 1, 10_000)
  if (iterations instanceof Error) {
    process.stderr.write(`conclave: ${iterations.message}\n`)
    return EXIT_CONFIG
  }
  const out = (line: string): void => {
    if (opts.json !== true) process.stdout.write(line + '\n')
  }
  let report: FederationReport
  try {
    report = await runFederation({ iterations, httpBasePort, progress: out })
  } catch (err) {
    process.stderr.write(`conclave: federation scenario failed: ${(err as Error).message}\n`)
    return EXIT_FAILURE
  }
  const problems = federationProblems(report)
  if (opts.json === true) {
    process.stdout.write(JSON.stringify({ ...report, problems }) + '\n')
  } else {
    for (const a of report.agents) {
      out(
        `  ${a.name.padEnd(8)} ${a.tenant.padEnd(19)} ${a.role.padEnd(11)} tasks ${String(a.tasksCompleted).padStart(3)}  episodes ${a.episodes}`
      )
    }
    out(
      `episodes: ${Object.entries(report.episodesByTenant)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')}; replication p50 ${report.replication.p50Ms} ms, p95 ${report.replication.p95Ms} ms`
    )
    out(
      problems.length === 0
        ? `federation scenario passed in ${report.durationMs} ms`
        : `federation scenario FAILED:\n  ${problems.join('\n  ')}`
    )
  }
  return problems.length === 0 ? EXIT_OK : EXIT_FAILURE
}

function positiveInt(flag: string, raw: string, min: number, max: number): number | Error {
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    return new UsageError(`${flag}: "${raw}" must be a whole number from ${min} to ${max}`)
  }
  return n
}

/** `conclave sim`: N agents in one process on loopback, with progress while the mesh forms. */
export async function simCommand(opts: SimOptions): Promise<number> {
  const agents = positiveInt('--agents', opts.agents, 1, 500)
  const httpBasePort = positiveInt('--http-base-port', opts.httpBasePort, 0, 65_535)
  const timeoutMs = positiveInt('--timeout-ms', opts.timeoutMs, 1, 3_600_000)
  for (const v of [agents, httpBasePort, timeoutMs]) {
    if (v instanceof Error) {
      process.stderr.write(`conclave: ${v.message}\n`)
      return EXIT_CONFIG
    }
  }
  if (opts.scenario !== undefined) {
    if (!SCENARIOS.includes(opts.scenario)) {
      process.stderr.write(`conclave: --scenario: "${opts.scenario}" is not a scenario (${SCENARIOS.join(', ')})\n`)
      return EXIT_CONFIG
    }
    return await federationCommand(opts, httpBasePort as number)
  }
  const tenants = opts.tenants
    .split(',')
    .map(t => t.trim())
    .filter(t => t !== '')
  const badTenant = tenants.find(t => !isValidTenantId(t))
  if (tenants.length === 0 || badTenant !== undefined) {
    process.stderr.write(
      `conclave: --tenants: "${badTenant ?? opts.tenants}" is not a tenant id (a-z, 0-9, ".", "_", "-")\n`
    )
    return EXIT_CONFIG
  }
  const n = agents as number
  const out = (line: string): void => {
    if (opts.json !== true) process.stdout.write(line + '\n')
  }
  const logger = createLogger({ level: opts.logLevel as LogLevel })
  const startedAt = Date.now()
  out(
    `starting ${n} agents on 127.0.0.1${opts.mdns === true ? ' (mDNS discovery)' : ' (bootstrap from agent-0)'}, ${opts.open === true ? 'open default tenant (no credentials)' : `tenants ${tenants.join(', ')} (credentials issued in memory)`}…`
  )
  let sim: Sim
  try {
    sim = await Sim.start({
      agents: n,
      httpBasePort: httpBasePort as number,
      tenants: opts.open === true ? 'open' : tenants,
      mdns: opts.mdns === true,
      mdnsServiceTag: opts.mdnsServiceTag ?? configDefaults.DEFAULT_MDNS_SERVICE_TAG,
      logger
    })
  } catch (err) {
    process.stderr.write(`conclave: sim failed to start: ${(err as Error).message}\n`)
    return (err as Error).name === 'HttpListenError' ? EXIT_CONFIG : EXIT_FAILURE
  }
  for (const a of sim.agents) {
    out(`  ${a.config.name.padEnd(10)} ${a.tenancy.tenants.join(',').padEnd(12)} ${a.peerId}  ${a.url}`)
  }

  let stopRequested = false
  const stop = (): void => {
    stopRequested = true
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)

  let last = -1
  let convergedAt: number | undefined
  const deadline = startedAt + (timeoutMs as number)
  // eslint-disable-next-line no-unmodified-loop-condition -- set by a callback while the loop awaits
  while (!stopRequested) {
    const converged = sim.convergedCount()
    if (converged !== last) {
      out(`mesh: ${converged}/${n} agents see all their tenant peers alive (${Date.now() - startedAt} ms)`)
      last = converged
    }
    if (converged === n && convergedAt === undefined) {
      convergedAt = Date.now() - startedAt
      const first = sim.agents[0]
      out(`mesh formed in ${convergedAt} ms. Ctrl-C stops.`)
      if (first !== undefined) {
        out(`dashboard (this link signs you in once): ${first.loginUrl()}`)
        out(`status: conclave status --api ${first.url} --token ${first.apiToken}`)
      }
      if (opts.exitWhenConverged === true) break
    }
    if (convergedAt === undefined && Date.now() > deadline && opts.exitWhenConverged === true) break
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  const summary = {
    agents: n,
    converged: sim.convergedCount(),
    convergedMs: convergedAt ?? null,
    views: sim.agents.map(a => ({
      name: a.config.name,
      peerId: a.peerId,
      url: a.url,
      alive: a.membership.peers().filter(p => p.state === 'alive').length
    }))
  }
  if (opts.json === true) process.stdout.write(JSON.stringify(summary) + '\n')
  out('stopping…')
  await sim.stop()
  logger.flush()
  return convergedAt !== undefined || !opts.exitWhenConverged ? EXIT_OK : EXIT_FAILURE
}
