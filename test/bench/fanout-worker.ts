/**
 * One worker process of the fan-out benchmark (test/bench/fanout.ts): it runs some of the agents,
 * either Conclave agents (a sim joined to the other workers' agents, one tenant, sealed
 * envelopes) or NATS clients (one connection per agent), and answers the orchestrator's
 * commands over IPC. Every agent publishes 1 KiB messages to all the others and records what it
 * receives, with the latency from the sender's timestamp (all workers share the machine's clock).
 */
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { connect, type NatsConnection } from 'nats'
import type { Agent } from '../../src/agent/index.js'
import type { AgentConfig } from '../../src/config/index.js'
import type { CouncilView } from '../../src/council/index.js'
import { Sim } from '../../src/sim/index.js'
import { countSuspicions } from './suspicions.js'
import { CouncilChangeTimes, type Reached } from './council-times.js'
import { noTraffic, processCpuMs, type Traffic } from './report.js'
import { readTenantFile, topicFor, type TenantChannel } from '../../src/tenancy/index.js'

export type System = 'mesh' | 'nats'

export type Command = { id: number } & (
  | { cmd: 'hello' }
  | {
      cmd: 'start'
      system: System
      agents: number
      firstIndex: number
      seeds: string[]
      authorityFile: string
      tenant: string
      natsUrl: string
      roles?: string[][]
      overrides?: Partial<AgentConfig>
    }
  | { cmd: 'ready'; total: number; timeoutMs: number }
  | { cmd: 'run'; phase: number; rateHz: number; durationMs: number; drainMs: number; payloadBytes: number }
  | { cmd: 'kill'; indices: number[] }
  | { cmd: 'leave'; indices: number[] }
  | { cmd: 'council-open'; index: number; body: Record<string, unknown> }
  | { cmd: 'council-view'; index: number; council: string }
  | { cmd: 'council-dissolve'; index: number; council: string }
  | { cmd: 'council-wait'; council: string; above: number; without?: string; timeoutMs: number }
  | { cmd: 'suspicions' }
  | { cmd: 'cpu' }
  | { cmd: 'traffic' }
  | { cmd: 'profile-start' }
  | { cmd: 'profile-stop'; file: string }
  | { cmd: 'stop' }
)

export interface Receipt {
  to: number
  from: number
  seq: number
  latencyMs: number
  /** Receive time (ms since the epoch). */ at: number
  /** The run (rate step) the message was sent in. */ phase: number
}
export interface RunReport {
  /** Messages each local agent published: index → count. */
  sent: Record<number, number>
  /** Publishes attempted: the offered load actually generated (a loaded event loop falls behind the rate). */
  offered: number
  /** Publish slots the schedule had (each publisher starts at its offset into the first interval): the set rate. */
  scheduled: number
  /** Publishes that threw (a NATS client with no server, say), and why. */
  failedPublishes: number
  publishErrors: Record<string, number>
  received: Receipt[]
  cpuMs: number
  rssBytes: number
  /** Local agents still running at the end. */
  live: number[]
}

export type Reply = { id?: number } & (
  | { event: 'started'; addrs: string[] }
  | { event: 'ready' }
  | { event: 'result'; report: RunReport }
  | { event: 'killed' }
  | { event: 'opened'; council: string }
  | { event: 'view'; view?: CouncilView }
  | { event: 'reached'; at: Reached | null }
  | { event: 'suspicions'; counts: Record<string, number> }
  | { event: 'cpu'; ms: number; wakeups: number }
  | { event: 'traffic'; traffic: Traffic }
  | { event: 'error'; message: string }
)

const CHANNEL = 'bench'

const TRAFFIC_METRICS = {
  rpcsSent: ['conclave_gossipsub_rpcs_total', 'out'],
  rpcsReceived: ['conclave_gossipsub_rpcs_total', 'in'],
  bytesSent: ['conclave_gossipsub_bytes_total', 'out'],
  bytesReceived: ['conclave_gossipsub_bytes_total', 'in'],
  pings: ['conclave_membership_pings_total', undefined],
  syncs: ['conclave_membership_syncs_total', undefined]
} as const

async function traffic(): Promise<Traffic> {
  const out = noTraffic()
  for (const agent of sim?.running ?? []) {
    out.agents++
    for (const [key, [name, direction]] of Object.entries(TRAFFIC_METRICS) as Array<
      [keyof typeof TRAFFIC_METRICS, readonly [string, string | undefined]]
    >) {
      const metric = agent.metrics.registry.getSingleMetric(name)
      if (metric === undefined) throw new Error(`metric ${name} is not registered`)
      const values = (await metric.get()).values
      out[key] += values.find(v => direction === undefined || v.labels.direction === direction)?.value ?? 0
    }
    out.connections += agent.node.getConnections().length
    out.topics += agent.node.services.pubsub.getTopics().length
  }
  return out
}

interface Local {
  index: number
  publish: (data: Uint8Array) => Promise<void>
  stop: () => Promise<void>
  alive: boolean
}

let system: System = 'mesh'
let firstIndex = 0
let sim: Sim | undefined
let locals: Local[] = []
let receipts: Receipt[] = []
/** How often this worker's agents marked each peer suspect (false suspicions show up here). */
const suspected: Record<string, number> = {}
/** When each agent last changed each council (rounds are timed by it). */
const councilTimes = new CouncilChangeTimes()
let recording = false
/** The CPU profiler of this worker, between `profile-start` and `profile-stop`. */
let profiler: Session | undefined
const connections: NatsConnection[] = []
const decoder = new TextDecoder()

function onPayload(to: number, payload: Uint8Array): void {
  if (!recording) return
  const now = Date.now()
  try {
    const m = JSON.parse(decoder.decode(payload)) as { from: number; seq: number; sentAt: number; phase: number }
    if (m.from === to) return
    receipts.push({ to, from: m.from, seq: m.seq, latencyMs: now - m.sentAt, at: now, phase: m.phase })
  } catch {}
}

async function start(c: Extract<Command, { cmd: 'start' }>): Promise<string[]> {
  system = c.system
  firstIndex = c.firstIndex
  if (c.system === 'mesh') {
    const authority = await readTenantFile(c.authorityFile)
    sim = await Sim.start({
      agents: c.agents,
      firstIndex: c.firstIndex,
      seeds: c.seeds,
      authorities: new Map([[c.tenant, authority]]),
      roles: i => c.roles?.[i] ?? [],
      onAgentStarted: agent => {
        countSuspicions(agent, suspected)
        councilTimes.watch(agent)
      },
      ...(c.overrides !== undefined ? { overrides: c.overrides } : {})
    })
    locals = sim.agents.map((agent: Agent, k: number) => {
      const index = c.firstIndex + k
      const channel: TenantChannel = agent.tenancy.join(c.tenant, CHANNEL, msg => {
        onPayload(index, msg.payload)
        return 'accept'
      })
      return {
        index,
        publish: async data => {
          await channel.publish(data)
        },
        stop: async () => {
          await sim?.crashAgent(agent)
        },
        alive: true
      }
    })
    return sim.agents.slice(0, 1).flatMap(a => a.node.getMultiaddrs().map(String))
  }
  for (let k = 0; k < c.agents; k++) {
    const index = c.firstIndex + k
    // Reconnect for ever, quickly: the failure scenario stops the server for seconds.
    const nc = await connect({
      servers: c.natsUrl,
      noEcho: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      name: `agent-${index}`
    })
    connections.push(nc)
    const sub = nc.subscribe(`bench.${c.tenant}`)
    void (async () => {
      for await (const m of sub) onPayload(index, m.data)
    })()
    locals.push({
      index,
      publish: async data => {
        nc.publish(`bench.${c.tenant}`, data)
      },
      stop: async () => {
        await nc.close()
      },
      alive: true
    })
  }
  await Promise.all(
    connections.map(async nc => {
      await nc.flush()
    })
  )
  return []
}

/** Every local agent sees the whole mesh alive and has gossip peers on the bench topic. */
async function ready(total: number, timeoutMs: number): Promise<void> {
  await meshReady(total, timeoutMs)
  // Record from now on, not from the 'run' command: another worker's publishers may start
  // before this worker's event loop gets to that command, and their first messages would be
  // counted as lost.
  receipts = []
  recording = true
}

async function meshReady(total: number, timeoutMs: number): Promise<void> {
  if (system !== 'mesh' || sim === undefined) return
  const deadline = Date.now() + timeoutMs
  const s = sim
  while (Date.now() < deadline) {
    const done = s.agents.every(a => {
      const tenant = a.tenancy.tenants[0] as string
      const alive = a.membership.peers().filter(p => p.state === 'alive').length
      return alive >= total - 1 && a.node.services.pubsub.getSubscribers(topicFor(tenant)).length > 0
    })
    if (done) return
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`mesh not ready within ${timeoutMs} ms`)
}

async function runLoad(c: Extract<Command, { cmd: 'run' }>): Promise<RunReport> {
  recording = true
  const sent: Record<number, number> = {}
  let failedPublishes = 0
  const publishErrors: Record<string, number> = {}
  let offered = 0
  let scheduled = 0
  const encoder = new TextEncoder()
  const pad = 'x'.repeat(Math.max(0, c.payloadBytes - 80))
  const cpu0 = process.cpuUsage()
  const intervalMs = 1000 / c.rateHz
  const end = Date.now() + c.durationMs
  await Promise.all(
    locals.map(async (local, k) => {
      sent[local.index] = 0
      // Publishers start spread over one interval, not in lock-step.
      const offsetMs = (k * intervalMs) / Math.max(1, locals.length)
      if (local.alive) scheduled += Math.max(0, Math.ceil((c.durationMs - offsetMs) / intervalMs))
      await new Promise(resolve => setTimeout(resolve, offsetMs))
      let next = Date.now()
      let seq = 0
      // Publishes are not awaited one by one: the rate is the offered load, whatever delivery does.
      const inFlight: Array<Promise<void>> = []
      while (Date.now() < end && local.alive) {
        const data = encoder.encode(
          JSON.stringify({ from: local.index, seq: seq++, sentAt: Date.now(), phase: c.phase, pad })
        )
        offered++
        inFlight.push(
          local.publish(data).then(
            () => {
              sent[local.index] = (sent[local.index] as number) + 1
            },
            (err: Error) => {
              failedPublishes++
              publishErrors[err.message] = (publishErrors[err.message] ?? 0) + 1
            }
          )
        )
        next += intervalMs
        await new Promise(resolve => setTimeout(resolve, Math.max(0, next - Date.now())))
      }
      await Promise.all(inFlight)
    })
  )
  await new Promise(resolve => setTimeout(resolve, c.drainMs))
  const cpu = process.cpuUsage(cpu0)
  // Recording goes on for the next run (rate step); this one reports its own messages only.
  const received = receipts.filter(r => r.phase === c.phase)
  receipts = receipts.filter(r => r.phase > c.phase)
  return {
    sent,
    offered,
    scheduled,
    failedPublishes,
    publishErrors,
    received,
    cpuMs: (cpu.user + cpu.system) / 1000,
    rssBytes: process.memoryUsage().rss,
    live: locals.filter(l => l.alive).map(l => l.index)
  }
}

function agentAt(index: number): Agent {
  const agent = sim?.agents[index - firstIndex]
  if (agent === undefined) throw new Error(`agent ${index} does not run here`)
  return agent
}

/**
 * When every local agent still running reports the council active at an epoch above `above`
 * with `without` (a killed or stopped holder) out of its roster: polled every 5 ms, so that the
 * orchestrator can take the latest time over all workers. Null when not within `timeoutMs`.
 */
async function councilReached(c: Extract<Command, { cmd: 'council-wait' }>): Promise<Reached | null> {
  const deadline = Date.now() + c.timeoutMs
  const reached = (a: Agent): boolean => {
    const v = a.councils.get(c.council)
    return (
      v !== undefined &&
      v.state === 'active' &&
      v.epoch > c.above &&
      (c.without === undefined || !v.roster.some(s => s.peerId === c.without))
    )
  }
  while (Date.now() < deadline) {
    if (sim !== undefined && sim.running.every(reached)) return councilTimes.settled(sim.running, c.council)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  return null
}

async function handle(c: Command): Promise<Reply> {
  switch (c.cmd) {
    case 'hello':
      return { event: 'ready' }
    case 'start':
      return { event: 'started', addrs: await start(c) }
    case 'ready':
      await ready(c.total, c.timeoutMs)
      return { event: 'ready' }
    case 'run':
      return { event: 'result', report: await runLoad(c) }
    case 'kill':
      for (const local of locals.filter(l => c.indices.includes(l.index))) {
        local.alive = false
        await local.stop()
      }
      return { event: 'killed' }
    case 'leave':
      for (const local of locals.filter(l => c.indices.includes(l.index))) {
        local.alive = false
        await sim?.stopAgent(agentAt(local.index))
      }
      return { event: 'killed' }
    case 'council-open':
      return { event: 'opened', council: await agentAt(c.index).councils.open(c.body) }
    case 'council-view': {
      const view = agentAt(c.index).councils.get(c.council)
      return view === undefined ? { event: 'view' } : { event: 'view', view }
    }
    case 'council-dissolve':
      await agentAt(c.index).councils.dissolve(c.council)
      return { event: 'killed' }
    case 'council-wait':
      return { event: 'reached', at: await councilReached(c) }
    case 'suspicions':
      return { event: 'suspicions', counts: suspected }
    case 'cpu':
      return { event: 'cpu', ms: processCpuMs(), wakeups: process.resourceUsage().voluntaryContextSwitches }
    case 'traffic':
      return { event: 'traffic', traffic: await traffic() }
    case 'profile-start':
      profiler = new Session()
      profiler.connect()
      await profiler.post('Profiler.enable')
      await profiler.post('Profiler.start')
      return { event: 'killed' }
    case 'profile-stop': {
      if (profiler === undefined) throw new Error('no profile was started')
      const { profile } = await profiler.post('Profiler.stop')
      profiler.disconnect()
      profiler = undefined
      await writeFile(c.file, JSON.stringify(profile))
      return { event: 'killed' }
    }
    case 'stop':
      await sim?.stop()
      await Promise.allSettled(
        connections.map(async nc => {
          await nc.close()
        })
      )
      setTimeout(() => process.exit(0), 50)
      return { event: 'killed' }
  }
}

process.on('message', (c: Command) => {
  handle(c).then(
    reply => {
      process.send?.({ ...reply, id: c.id })
    },
    (err: Error) => {
      process.send?.({ event: 'error', message: err.message, id: c.id })
    }
  )
})
