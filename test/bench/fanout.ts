/**
 * Fan-out through the mesh and through NATS with the same workload and worker layout:
 * N agents over a few worker processes, every agent publishing 1 KiB messages to all the others
 * at a set rate; optionally a failure mid-run (10% of the mesh agents killed, or the NATS server
 * stopped for a few seconds). Returns delivery ratio, latency percentiles, CPU per delivered
 * message and RSS per agent.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AgentConfig } from '../../src/config/index.js'
import { createTenant, writeTenantFile } from '../../src/tenancy/index.js'
import { percentile } from '../../src/util/stats.js'
import type { Command, Receipt, Reply, RunReport, System } from './fanout-worker.js'
import { freePort } from '../helpers/ports.js'

const WORKER = fileURLToPath(new URL('./fanout-worker.js', import.meta.url))
const TENANT = 'bench'

export interface FanoutInit {
  system: System
  agents: number
  workers: number
  rateHz: number
  durationMs: number
  /** Wait this long after the last publish for deliveries in flight. */
  drainMs: number
  payloadBytes: number
  /**
   * Heavy mode, "as fast as delivery keeps up": run once per rate (msg/s per agent), in order on
   * the same agents, and stop after the first rate that is not kept up (see `keepsUp`). The
   * result is that of the highest rate kept up. `rateHz` is ignored then.
   */
  stepRatesHz?: number[]
  /** Kill this share of the mesh agents `failAtMs` into the run (mesh only). */
  killFraction?: number
  /** Stop the NATS server `failAtMs` into the run for this long (nats only). */
  outageMs?: number
  failAtMs?: number
  dir: string
}

export interface FanoutResult {
  system: System
  agents: number
  rateHz: number
  /** Publishes the agents made (at the rate, as far as their event loops kept up). */
  offered: number
  /** Publish slots the set rate gave them over the run (see `RunReport.scheduled`). */
  scheduled: number
  sent: number
  expected: number
  delivered: number
  deliveryRatio: number
  p50Ms: number
  p95Ms: number
  p99Ms: number
  p999Ms: number
  cpuMsPerDelivered: number
  rssMbPerAgent: number
  failedPublishes: number
  /** Why publishes failed, with counts. */
  publishErrors: Record<string, number>
  /** With a failure: messages between agents alive at the end that never arrived. */
  lost: number
  /** With a failure: from the server's restart (NATS) or the kill (mesh) until deliveries flowed again. */
  recoveryMs: number | null
  /** Up to 10 messages between live agents that never arrived, as `from→to #seq` (what to chase). */
  missingSample: string[]
  /** Heavy mode: every rate tried, and whether delivery kept up with it. */
  steps?: Array<{ rateHz: number; offeredShare: number; deliveryRatio: number; p99Ms: number; keptUp: boolean }>
}

/** Publishers got out at least this share of the set rate... */
export const KEEP_UP_OFFERED = 0.95
/** ...and at least this share of the messages arrived everywhere before the drain ended. */
export const KEEP_UP_DELIVERED = 0.999

/** Share of the set rate the publishers got out: publishes made over the slots their schedule had. */
export function offeredShare(r: Pick<FanoutResult, 'offered' | 'scheduled'>): number {
  return r.scheduled === 0 ? 0 : r.offered / r.scheduled
}

/** Delivery kept up with a rate when the publishers held it and (nearly) everything arrived. */
export function keepsUp(r: FanoutResult): boolean {
  return offeredShare(r) >= KEEP_UP_OFFERED && r.deliveryRatio >= KEEP_UP_DELIVERED
}

type Request = Command extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never

export class Worker {
  readonly child: ChildProcess
  private readonly waiting = new Map<number, (reply: Reply) => void>()
  private nextId = 0
  constructor() {
    // node:sqlite's one-time experimental warning, once per worker, is noise here.
    this.child = fork(WORKER, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      execArgv: ['--disable-warning=ExperimentalWarning']
    })
    this.child.on('message', (reply: Reply) => {
      const resolve = reply.id === undefined ? undefined : this.waiting.get(reply.id)
      if (reply.id !== undefined) this.waiting.delete(reply.id)
      resolve?.(reply)
    })
  }

  /** Replies are matched by id: a kill may be answered while a run is still going. */
  async send(command: Request): Promise<Reply> {
    const id = ++this.nextId
    const reply = await new Promise<Reply>(resolve => {
      this.waiting.set(id, resolve)
      this.child.send({ ...command, id })
    })
    if (reply.event === 'error') throw new Error(`worker: ${reply.message}`)
    return reply
  }
}

/** nats-server (Debian's package) on loopback. */
export class NatsServer {
  child?: ChildProcess
  constructor(readonly port: number) {}
  get url(): string {
    return `nats://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(this.port)], {
      stdio: ['ignore', 'ignore', 'pipe']
    })
    this.child = child
    let log = ''
    await new Promise<void>((resolve, reject) => {
      child.once('error', err => {
        reject(new Error(`nats-server: ${err.message} (install Debian's nats-server package)`))
      })
      child.stderr?.on('data', (d: Buffer) => {
        log += d.toString()
        if (log.includes('Server is ready')) resolve()
      })
      child.once('exit', code => {
        reject(new Error(`nats-server exited with ${code}: ${log}`))
      })
    })
  }

  async kill(): Promise<void> {
    const child = this.child
    if (child === undefined || child.exitCode !== null) return
    child.kill('SIGKILL')
    await new Promise(resolve => child.once('exit', resolve))
  }

  /** CPU milliseconds the server used so far (from /proc). */
  async cpuMs(): Promise<number> {
    if (this.child?.pid === undefined) return 0
    try {
      const fields = (await readFile(`/proc/${this.child.pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? []
      return (Number(fields[11]) + Number(fields[12])) * 10
    } catch {
      return 0
    }
  }

  async rssBytes(): Promise<number> {
    if (this.child?.pid === undefined) return 0
    try {
      return Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${this.child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024
    } catch {
      return 0
    }
  }
}

export interface Layout {
  /** Workers that run at least one agent. */
  active: Worker[]
  /** Which worker runs agent i. */
  owner: Map<number, Worker>
  nats?: NatsServer
  /** Stop every worker (and the NATS server). */
  stop: () => Promise<void>
  /**
   * When the first agent began to start (ms since the epoch): the worker processes were spawned
   * and had loaded their modules before, so times from here leave Node's own start-up out.
   */
  agentsStartedAt: number
}

/**
 * Start `agents` agents over `workers` processes (the first worker's first agent is the others'
 * bootstrap peer) and wait until every mesh agent sees all the others alive.
 */
export async function startLayout(
  init: Pick<FanoutInit, 'system' | 'agents' | 'workers' | 'dir'> & {
    roles?: string[][]
    overrides?: Partial<AgentConfig>
  },
  readyTimeoutMs: number
): Promise<Layout> {
  const authorityFile = join(init.dir, `${TENANT}.tenant.json`)
  await writeTenantFile(authorityFile, await createTenant(TENANT))
  const nats = init.system === 'nats' ? new NatsServer(await freePort()) : undefined
  await nats?.start()
  const workers = Array.from({ length: init.workers }, () => new Worker())
  const owner = new Map<number, Worker>()
  const stop = async (): Promise<void> => {
    await Promise.allSettled(
      workers.map(async w => {
        if (w.child.exitCode !== null) return
        const exited = new Promise(resolve => w.child.once('exit', resolve))
        w.child.send({ cmd: 'stop', id: 0 })
        const timer = setTimeout(() => w.child.kill('SIGKILL'), 15_000)
        await exited
        clearTimeout(timer)
      })
    )
    await nats?.kill()
  }
  try {
    // Every process loads its modules first (about a second of CPU each), so that it does not
    // compete with the agents already forming the mesh.
    await Promise.all(workers.map(async w => await w.send({ cmd: 'hello' })))
    const agentsStartedAt = Date.now()
    const per = Math.ceil(init.agents / init.workers)
    const startWorker = async (w: number, seeds: string[]): Promise<string[]> => {
      const first = w * per
      const count = Math.min(per, init.agents - first)
      if (count <= 0) return []
      for (let i = first; i < first + count; i++) owner.set(i, workers[w] as Worker)
      const reply = await (workers[w] as Worker).send({
        cmd: 'start',
        system: init.system,
        agents: count,
        firstIndex: first,
        seeds,
        authorityFile,
        tenant: TENANT,
        natsUrl: nats?.url ?? '',
        ...(init.roles !== undefined ? { roles: init.roles } : {}),
        ...(init.overrides !== undefined ? { overrides: init.overrides } : {})
      })
      return reply.event === 'started' ? reply.addrs : []
    }
    // The first worker's first agent is everybody's bootstrap peer; the others start together,
    // as replicas of one service do.
    const seeds = await startWorker(0, [])
    await Promise.all(workers.slice(1).map(async (_, k) => await startWorker(k + 1, seeds)))
    const active = [...new Set(owner.values())]
    await Promise.all(
      active.map(async w => await w.send({ cmd: 'ready', total: init.agents, timeoutMs: readyTimeoutMs }))
    )
    return { active, owner, ...(nats !== undefined ? { nats } : {}), stop, agentsStartedAt }
  } catch (err) {
    await stop()
    throw err
  }
}

/**
 * Discovery across worker processes (bench:discovery): start the layout and time it until every
 * agent's view holds every other agent alive. Null when that did not happen within `timeoutMs`.
 */
export async function meshFormation(init: {
  agents: number
  workers: number
  dir: string
  timeoutMs: number
}): Promise<number | null> {
  try {
    const layout = await startLayout({ ...init, system: 'mesh' }, init.timeoutMs)
    const ms = Date.now() - layout.agentsStartedAt
    await layout.stop()
    return ms
  } catch (err) {
    if ((err as Error).message.includes('not ready')) return null
    throw err
  }
}

export async function runFanout(init: FanoutInit): Promise<FanoutResult> {
  const { active, owner, nats, stop } = await startLayout(init, 180_000)
  try {
    if (init.stepRatesHz !== undefined) return await stepped(init, init.stepRatesHz, active, nats)
    return await runPhase(init, active, nats, 0, init.rateHz, async () => {
      if (init.failAtMs === undefined) return {}
      await new Promise(resolve => setTimeout(resolve, init.failAtMs))
      const failedAt = Date.now()
      if (init.system === 'mesh' && init.killFraction !== undefined) {
        // Agents to kill: spread over the index range, never the bootstrap peer (index 0).
        const k = Math.max(1, Math.round(init.agents * init.killFraction))
        const victims = Array.from({ length: k }, (_, j) => 1 + Math.floor(((j + 0.5) * (init.agents - 1)) / k))
        await Promise.all(
          [...new Set(victims.map(v => owner.get(v) as Worker))].map(
            async w => await w.send({ cmd: 'kill', indices: victims })
          )
        )
      }
      if (nats === undefined || init.outageMs === undefined) return { failedAt }
      await nats.kill()
      await new Promise(resolve => setTimeout(resolve, init.outageMs))
      await nats.start()
      return { failedAt, restartedAt: Date.now() }
    })
  } finally {
    await stop()
  }
}

/** One run at `rateHz` on every worker; `failure` runs alongside it and says when it struck. */
async function runPhase(
  init: FanoutInit,
  workers: Worker[],
  nats: NatsServer | undefined,
  phase: number,
  rateHz: number,
  failure?: () => Promise<{ failedAt?: number; restartedAt?: number }>
): Promise<FanoutResult> {
  const natsCpu0 = (await nats?.cpuMs()) ?? 0
  const running = Promise.all(
    workers.map(
      async w =>
        await w.send({
          cmd: 'run',
          phase,
          rateHz,
          durationMs: init.durationMs,
          drainMs: init.drainMs,
          payloadBytes: init.payloadBytes
        })
    )
  )
  const { failedAt, restartedAt } = (await failure?.()) ?? {}
  const reports = (await running).map(r => (r as Extract<Reply, { event: 'result' }>).report)
  const natsCpu = ((await nats?.cpuMs()) ?? 0) - natsCpu0
  return summarise({ ...init, rateHz }, reports, natsCpu, (await nats?.rssBytes()) ?? 0, failedAt, restartedAt)
}

/** Heavy mode: one run per rate on the same agents, up to the first rate not kept up. */
async function stepped(
  init: FanoutInit,
  rates: number[],
  workers: Worker[],
  nats: NatsServer | undefined
): Promise<FanoutResult> {
  const steps: NonNullable<FanoutResult['steps']> = []
  let best: FanoutResult | undefined
  let first: FanoutResult | undefined
  for (const [phase, rateHz] of rates.entries()) {
    const result = await runPhase(init, workers, nats, phase, rateHz)
    const keptUp = keepsUp(result)
    steps.push({
      rateHz,
      offeredShare: offeredShare(result),
      deliveryRatio: result.deliveryRatio,
      p99Ms: result.p99Ms,
      keptUp
    })
    first ??= result
    if (!keptUp) break
    best = result
  }
  return { ...(best ?? (first as FanoutResult)), steps }
}

function summarise(
  init: FanoutInit,
  reports: RunReport[],
  serverCpuMs: number,
  serverRss: number,
  failedAt?: number,
  restartedAt?: number
): FanoutResult {
  const live = new Set(reports.flatMap(r => r.live))
  const sentBy = new Map<number, number>()
  for (const r of reports) for (const [from, n] of Object.entries(r.sent)) sentBy.set(Number(from), n)
  const seen = new Set<string>()
  const latencies: number[] = []
  const times: number[] = []
  for (const r of reports) {
    for (const x of r.received as Receipt[]) {
      if (!live.has(x.to) || !live.has(x.from)) continue
      const key = `${x.to}:${x.from}:${x.seq}`
      if (seen.has(key)) continue
      seen.add(key)
      latencies.push(x.latencyMs)
      times.push(x.at)
    }
  }
  let sent = 0
  let expected = 0
  for (const [from, n] of sentBy) {
    sent += n
    if (live.has(from)) expected += n * (live.size - 1)
  }
  latencies.sort((a, b) => a - b)
  const delivered = latencies.length
  const missingSample: string[] = []
  if (delivered < expected) {
    for (const [from, n] of sentBy) {
      if (!live.has(from)) continue
      for (const to of live) {
        // eslint-disable-next-line no-unmodified-loop-condition -- set by a callback while the loop awaits
        for (let seq = 0; seq < n && to !== from && missingSample.length < 10; seq++) {
          if (!seen.has(`${to}:${from}:${seq}`)) missingSample.push(`${from}→${to} #${seq} of ${n}`)
        }
      }
    }
  }
  const cpuMs = reports.reduce((s, r) => s + r.cpuMs, 0) + serverCpuMs
  const rss = reports.reduce((s, r) => s + r.rssBytes, 0) + serverRss
  // Recovery: the first delivery after the failure's end (the restart, or the kill itself).
  const from = restartedAt ?? failedAt
  const after = from === undefined ? [] : times.filter(t => t >= from).sort((a, b) => a - b)
  return {
    system: init.system,
    agents: init.agents,
    rateHz: init.rateHz,
    offered: reports.reduce((s, r) => s + r.offered, 0),
    scheduled: reports.reduce((s, r) => s + r.scheduled, 0),
    sent,
    expected,
    delivered,
    deliveryRatio: expected === 0 ? 0 : delivered / expected,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    p999Ms: percentile(latencies, 99.9),
    cpuMsPerDelivered: delivered === 0 ? NaN : cpuMs / delivered,
    rssMbPerAgent: rss / init.agents / 2 ** 20,
    failedPublishes: reports.reduce((s, r) => s + r.failedPublishes, 0),
    publishErrors: reports.reduce<Record<string, number>>((all, r) => {
      for (const [m, n] of Object.entries(r.publishErrors)) all[m] = (all[m] ?? 0) + n
      return all
    }, {}),
    lost: expected - delivered,
    missingSample,
    recoveryMs: from === undefined || after.length === 0 ? null : (after[0] as number) - from
  }
}
