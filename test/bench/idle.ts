/**
 * `npm run bench:idle`: what an idle mesh costs each agent as the mesh grows. N agents over worker
 * processes (one tenant, sealed envelopes, default settings) form a full view, settle, and then do
 * nothing the application asks for: CPU, gossipsub RPCs and bytes, connections and topics are
 * measured per agent over a quiet window. A flat design costs each agent the same at every N.
 *
 *   npm run bench:idle                      N = 10 and 34 in one process; 10, 34 and 100 over 4
 *   npm run bench:idle -- --layouts 34x1    only that layout (agents x worker processes)
 *   npm run bench:idle -- --window 20000    measure over 20 s (default 30 s)
 *   npm run bench:idle -- --set probeIntervalMs=0,heartbeatBudget=0.5
 *                                           agent settings other than the defaults (no table written)
 *   npm run bench:idle -- --profile /tmp/p  a CPU profile of each worker over the window, written
 *                                           to /tmp/p/<agents>x<workers>-<worker>.cpuprofile
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startLayout, type Worker } from './fanout.js'
import type { AgentConfig } from '../../src/config/index.js'
import { environment, noTraffic, writeSection, type Traffic } from './report.js'

const out = (line: string): void => {
  process.stdout.write(line + '\n')
}
const argv = process.argv.slice(2)
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name)
  return i === -1 ? undefined : argv[i + 1]
}
const fail = (message: string): never => {
  process.stderr.write(message + '\n')
  process.exit(2)
}

const layouts = (option('--layouts') ?? '10x1,34x1,10x4,34x4,100x4').split(',').map(spec => {
  const m = /^(\d+)x(\d+)$/.exec(spec.trim())
  if (m === null) return fail(`--layouts: "${spec}" is not AGENTSxWORKERS (for example 34x1)`)
  const agents = Number(m[1])
  const workers = Number(m[2])
  if (agents < 2 || workers < 1 || workers > agents) {
    return fail(`--layouts: "${spec}" needs 2+ agents, 1..agents workers`)
  }
  return { agents, workers }
})
const WINDOW_MS = Number(option('--window') ?? 30_000)
if (!Number.isInteger(WINDOW_MS) || WINDOW_MS < 1_000) fail('--window: expected milliseconds, at least 1000')
/** After the full view, joins' syncs and announcements die down before the window opens. */
const SETTLE_MS = Number(option('--settle') ?? 20_000)
if (!Number.isInteger(SETTLE_MS) || SETTLE_MS < 0) fail('--settle: expected milliseconds')
/** Agent settings other than the defaults, to compare designs side by side: `key=value,...`. */
const overrides: Partial<AgentConfig> = {}
for (const pair of (option('--set') ?? '').split(',').filter(p => p !== '')) {
  const [key, value] = pair.split('=')
  const n = Number(value)
  if (key === undefined || key === '' || value === undefined || !Number.isFinite(n)) {
    fail(`--set: "${pair}" is not key=number`)
  }
  ;(overrides as Record<string, number>)[key as string] = n
}
/** Where each worker's CPU profile of the window goes (Chrome DevTools `.cpuprofile`). */
const PROFILE_DIR = option('--profile')
const WRITE = !argv.includes('--no-write') && Object.keys(overrides).length === 0

interface Row {
  agents: number
  workers: number
  /** Percent of one core, all agents together. */
  cpuPct: number
  cpuPctPerAgent: number
  /**
   * Times a worker process blocked waiting (voluntary context switches, all its threads), per
   * second and process: each is a wake-up, and an idle process pays for every one.
   */
  wakeupsPerProcessPerSec: number
  rpcsPerAgentPerSec: number
  /**
   * Everything an agent sends and receives: gossipsub RPCs, membership pings and their answers,
   * syncs (three messages), each counted once sent and once received, as the RPCs are.
   */
  msgsPerAgentPerSec: number
  bytesPerAgentPerSec: number
  connectionsPerAgent: number
  topicsPerAgent: number
  /** Suspicions of running agents during the window, and before it (while the mesh formed). */
  falseSuspicions: number
  falseSuspicionsBefore: number
}

/** Times any agent marked a peer suspect so far (every agent runs throughout: all are false). */
async function suspicions(workers: Worker[]): Promise<number> {
  const replies = await Promise.all(workers.map(async w => await w.send({ cmd: 'suspicions' })))
  return replies.reduce(
    (sum, r) => sum + (r.event === 'suspicions' ? Object.values(r.counts).reduce((a, b) => a + b, 0) : 0),
    0
  )
}

async function sample(workers: Worker[]): Promise<{ cpuMs: number; wakeups: number; traffic: Traffic }> {
  const cpuReplies = await Promise.all(workers.map(async w => await w.send({ cmd: 'cpu' })))
  const trafficReplies = await Promise.all(workers.map(async w => await w.send({ cmd: 'traffic' })))
  const cpuMs = cpuReplies.reduce((s, r) => s + (r.event === 'cpu' ? r.ms : 0), 0)
  const wakeups = cpuReplies.reduce((s, r) => s + (r.event === 'cpu' ? r.wakeups : 0), 0)
  const traffic = noTraffic()
  for (const r of trafficReplies) {
    if (r.event !== 'traffic') continue
    for (const key of Object.keys(traffic) as Array<keyof Traffic>) traffic[key] += r.traffic[key]
  }
  return { cpuMs, wakeups, traffic }
}

async function measure(agents: number, workers: number): Promise<Row> {
  const dir = await mkdtemp(join(tmpdir(), 'conclave-idle-'))
  try {
    const layout = await startLayout({ system: 'mesh', agents, workers, dir, overrides }, 240_000)
    try {
      await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
      if (PROFILE_DIR !== undefined) {
        await Promise.all(layout.active.map(async w => await w.send({ cmd: 'profile-start' })))
      }
      const suspectedBefore = await suspicions(layout.active)
      const before = await sample(layout.active)
      const t0 = Date.now()
      await new Promise(resolve => setTimeout(resolve, WINDOW_MS))
      const after = await sample(layout.active)
      const suspectedInWindow = (await suspicions(layout.active)) - suspectedBefore
      if (PROFILE_DIR !== undefined) {
        await mkdir(PROFILE_DIR, { recursive: true })
        await Promise.all(
          layout.active.map(
            async (w, k) =>
              await w.send({ cmd: 'profile-stop', file: join(PROFILE_DIR, `${agents}x${workers}-${k}.cpuprofile`) })
          )
        )
      }
      const seconds = (Date.now() - t0) / 1_000
      const n = after.traffic.agents
      const cpuPct = ((after.cpuMs - before.cpuMs) / (seconds * 1_000)) * 100
      const delta = (key: keyof Traffic): number => after.traffic[key] - before.traffic[key]
      return {
        agents,
        workers,
        cpuPct,
        cpuPctPerAgent: cpuPct / n,
        wakeupsPerProcessPerSec: (after.wakeups - before.wakeups) / workers / seconds,
        rpcsPerAgentPerSec: (delta('rpcsSent') + delta('rpcsReceived')) / n / seconds,
        msgsPerAgentPerSec:
          (delta('rpcsSent') + delta('rpcsReceived') + 4 * delta('pings') + 6 * delta('syncs')) / n / seconds,
        bytesPerAgentPerSec: (delta('bytesSent') + delta('bytesReceived')) / n / seconds,
        connectionsPerAgent: after.traffic.connections / n,
        topicsPerAgent: after.traffic.topics / n,
        falseSuspicions: suspectedInWindow,
        falseSuspicionsBefore: suspectedBefore
      }
    } finally {
      await layout.stop()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const rows: Row[] = []
const format = (r: Row): string =>
  `| ${r.agents} | ${r.workers} | ${r.cpuPct.toFixed(1)} | ${r.cpuPctPerAgent.toFixed(2)} | ${Math.round(r.wakeupsPerProcessPerSec)} | ${r.msgsPerAgentPerSec.toFixed(1)} | ${r.rpcsPerAgentPerSec.toFixed(1)} | ${Math.round(r.bytesPerAgentPerSec)} | ${r.connectionsPerAgent.toFixed(1)} | ${r.topicsPerAgent.toFixed(1)} | ${r.falseSuspicions} (${r.falseSuspicionsBefore}) |`
for (const { agents, workers } of layouts) {
  out(`measuring ${agents} agents over ${workers} process(es)…`)
  const row = await measure(agents, workers)
  rows.push(row)
  out(format(row))
}

const ratio = (big: number, small: number, workers: number): string => {
  const a = rows.find(r => r.agents === big && r.workers === workers)
  const b = rows.find(r => r.agents === small && r.workers === workers)
  if (a === undefined || b === undefined) return ''
  return `- N=${big} ÷ N=${small}, ${workers} process(es): CPU per agent ${(a.cpuPctPerAgent / b.cpuPctPerAgent).toFixed(2)}, messages per agent ${(a.msgsPerAgentPerSec / b.msgsPerAgentPerSec).toFixed(2)}.`
}
const ratios = [ratio(34, 10, 1), ratio(100, 10, 4), ratio(100, 34, 4)].filter(line => line !== '')
for (const line of ratios) out(line)

if (WRITE) {
  await writeSection(
    'idle',
    `## An idle mesh, per agent

Command: \`npm run bench:idle\` (${environment()}). N agents over worker processes, one tenant with credentials (sealed envelopes), default settings, bootstrapped from the first agent. Once every agent sees all the others alive and ${SETTLE_MS / 1_000} s have passed, the application does nothing for ${WINDOW_MS / 1_000} s; CPU is that of the worker processes. Messages are everything an agent sends plus everything it receives: gossipsub RPCs (from gossipsub's own counters), membership pings and their answers, and push-pull syncs (three messages each). Wake-ups are the times a worker process blocked waiting (voluntary context switches of all its threads), per second: on a VM every wake-up of an idle process costs it CPU (measured here: 120–400 µs each), so an idle agent's cost follows its wake-ups more than its work.

| agents | processes | idle CPU, % of one core | per agent | wake-ups/s per process | messages/s per agent | of which gossipsub RPCs | gossipsub bytes/s per agent | connections per agent | topics per agent | false suspicions in the window (while forming) |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.map(format).join('\n')}

${ratios.join('\n')}`
  )
}
process.exit(0)
