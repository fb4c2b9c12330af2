/**
 * `npm run bench:council`: council formation (open → active at every member) and failover
 * (holder killed → new roster committed at every member), at N agents, measured in two layouts:
 * all agents in one process (every agent shares one event loop, the worst case for latency) and
 * spread over worker processes (closer to a deployment, where each agent has its own process).
 * Prints the figures and writes them to docs/benchmarks.md.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Agent } from '../../src/agent/index.js'
import type { CouncilView } from '../../src/council/index.js'
import { Sim } from '../../src/sim/index.js'
import { startLayout, type Layout, type Worker } from './fanout.js'
import { countSuspicions } from './suspicions.js'
import { CouncilChangeTimes, type Reached } from './council-times.js'
import { environment, median, processCpuMs, writeSection } from './report.js'
import { percentile } from '../../src/util/stats.js'

const out = (line: string): void => {
  process.stdout.write(line + '\n')
}
/** The council's ten candidates: three for each core role, four for the optional coder. */
const CANDIDATES = [
  'tpm',
  'senior-software-architect',
  'coder',
  'tpm',
  'senior-software-architect',
  'coder',
  'tpm',
  'senior-software-architect',
  'coder',
  'coder'
]
/**
 * Roles of agent `i` of `n`: candidate j is agent ⌊j·n/10⌋ (agent 0, everyone's bootstrap peer,
 * is a tpm candidate). Spread over the index range, the candidates land in every worker process,
 * as a deployment's members run in processes of their own. Candidates 0-9 all fell in the first
 * worker: one event loop then ran every member's part of every round (see the session 18 notes).
 */
const rolesOf =
  (n: number) =>
  (i: number): string[] => {
    const j = CANDIDATES.findIndex((_, k) => Math.floor((k * n) / CANDIDATES.length) === i)
    return j >= 0 ? [CANDIDATES[j] as string] : [i % 2 === 0 ? 'tester' : 'reviewer']
  }
/**
 * Membership timings of the tests: a crash is noticed by the dropped connection, then confirmed.
 * Agents release the bootstrap peer after 10-20 s, not the 60-120 s of production: the crash
 * samples come 1-2 minutes after a cold start, and would otherwise find every agent still
 * connected to agent 0, which a long-running fleet is not (see the session 15 notes).
 */
const TIMINGS = { heartbeatMs: 500, deadAfterMs: 1_500, pingTimeoutMs: 500, seedReleaseAfterMs: 10_000 }
const REQUEST = { coreRoles: ['tpm', 'senior-software-architect'], optionalRoles: ['coder'] }
const SAMPLE_TIMEOUT_MS = 60_000
/**
 * Pause between a sample's end (a dissolution, a stop) and the next sample: the end's flood and
 * the work it sets off at every agent would otherwise land in the next measurement.
 */
const SETTLE_MS = 2_000
const settle = async (): Promise<void> => {
  await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
}
/**
 * After the first formation, the mesh idles this long and its CPU use is measured: what the
 * agents cost with nothing to do (heartbeats, probes, gossip upkeep) is the floor every council
 * round runs on.
 */
const IDLE_WINDOW_MS = 20_000
/**
 * Councils left active while the idle CPU is measured a second time: what live councils cost a
 * mesh with nothing else to do (each coordinator re-announces its commit to the tenant).
 */
const IDLE_COUNCILS = 10
/**
 * How long those councils stand before their CPU is measured: a council's commit is announced
 * again ever further apart (5 s after it, then half its age, at most 60 s), so a fleet's
 * councils, most of them long formed, cost what they cost here, not what they cost at first.
 */
const IDLE_COUNCILS_AGE_MS = 60_000

/** CPU the cluster uses while nothing happens, in % of one core. */
async function idleCpuPercent(cluster: Cluster): Promise<number> {
  const cpu0 = await cluster.cpuMs()
  const t0 = Date.now()
  await new Promise(resolve => setTimeout(resolve, IDLE_WINDOW_MS))
  return (100 * ((await cluster.cpuMs()) - cpu0)) / (Date.now() - t0)
}

/** What the benchmark needs of a layout of N running agents. */
interface Cluster {
  open: (index: number, project: string) => Promise<string>
  view: (index: number, council: string) => Promise<CouncilView | undefined>
  /**
   * When (ms since the epoch) every running agent, and every running member of the council,
   * reports `council` active at an epoch above `above`, without `without` in its roster; null
   * when not within SAMPLE_TIMEOUT_MS.
   */
  reached: (council: string, above: number, without?: string) => Promise<Reached | null>
  indexOf: (peerId: string) => number
  crash: (index: number) => Promise<void>
  leave: (index: number) => Promise<void>
  dissolve: (index: number, council: string) => Promise<void>
  /** Per peer id, how often agents marked it suspect since the start. */
  suspicions: () => Promise<Record<string, number>>
  /** CPU time the agents used so far, all processes together (ms). */
  cpuMs: () => Promise<number>
  stop: () => Promise<void>
}

async function inProcess(n: number): Promise<Cluster> {
  const suspected: Record<string, number> = {}
  const times = new CouncilChangeTimes()
  const sim = await Sim.start({
    agents: n,
    roles: rolesOf(n),
    overrides: TIMINGS,
    onAgentStarted: agent => {
      countSuspicions(agent, suspected)
      times.watch(agent)
    }
  })
  const deadline = Date.now() + (n <= 34 ? 120_000 : 300_000)
  // 100 agents in one process take minutes to converge on 2 cores (see the discovery section).
  while (sim.convergedCount() < n && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
  if (sim.convergedCount() < n) out('  the mesh did not converge; measuring anyway')
  const at = (i: number): Agent => sim.agents[i] as Agent
  return {
    open: async (i, project) => await at(i).councils.open({ project, ...REQUEST }),
    view: async (i, id) => at(i).councils.get(id),
    reached: async (id, above, without) => {
      const deadline = Date.now() + SAMPLE_TIMEOUT_MS
      while (Date.now() < deadline) {
        if (
          sim.running.every(a => {
            const v = a.councils.get(id)
            return v?.state === 'active' && v.epoch > above && !v.roster.some(s => s.peerId === without)
          })
        ) {
          return times.settled(sim.running, id)
        }
        await new Promise(resolve => setTimeout(resolve, 5))
      }
      return null
    },
    indexOf: peerId => sim.agents.findIndex(a => a?.peerId === peerId),
    crash: async i => {
      await sim.crashAgent(at(i))
    },
    leave: async i => {
      await sim.stopAgent(at(i))
    },
    dissolve: async (i, id) => {
      await at(i).councils.dissolve(id)
    },
    suspicions: async () => suspected,
    cpuMs: async () => processCpuMs(),
    stop: async () => {
      await sim.stop()
    }
  }
}

async function inWorkers(n: number, workers: number): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), 'conclave-bench-'))
  let layout: Layout
  try {
    layout = await startLayout(
      {
        system: 'mesh',
        agents: n,
        workers,
        dir,
        roles: Array.from({ length: n }, (_, i) => rolesOf(n)(i)),
        overrides: TIMINGS
      },
      n <= 34 ? 120_000 : 300_000
    )
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  const { owner, active } = layout
  const peerIds = new Map<string, number>()
  const of = (i: number): Worker => owner.get(i) as Worker
  const ask = async (i: number, id: string): Promise<CouncilView | undefined> => {
    const reply = await of(i).send({ cmd: 'council-view', index: i, council: id })
    return reply.event === 'view' ? reply.view : undefined
  }
  return {
    open: async (i, project) => {
      const reply = await of(i).send({ cmd: 'council-open', index: i, body: { project, ...REQUEST } })
      if (reply.event !== 'opened') throw new Error(`unexpected reply ${reply.event}`)
      return reply.council
    },
    view: async (i, id) => {
      const view = await ask(i, id)
      for (const seat of view?.roster ?? []) {
        if (!peerIds.has(seat.peerId)) peerIds.set(seat.peerId, Number(/(\d+)$/.exec(seat.name)?.[1] ?? -1))
      }
      return view
    },
    reached: async (id, above, without) => {
      const replies = await Promise.all(
        active.map(
          async w =>
            await w.send({
              cmd: 'council-wait',
              council: id,
              above,
              ...(without !== undefined ? { without } : {}),
              timeoutMs: SAMPLE_TIMEOUT_MS
            })
        )
      )
      const times = replies.map(r => (r.event === 'reached' ? r.at : null))
      if (times.some(t => t === null)) return null
      const reached = times as Reached[]
      return { all: Math.max(...reached.map(t => t.all)), members: Math.max(...reached.map(t => t.members)) }
    },
    indexOf: peerId => peerIds.get(peerId) ?? -1,
    crash: async i => {
      await of(i).send({ cmd: 'kill', indices: [i] })
    },
    leave: async i => {
      await of(i).send({ cmd: 'leave', indices: [i] })
    },
    dissolve: async (i, id) => {
      await of(i).send({ cmd: 'council-dissolve', index: i, council: id })
    },
    suspicions: async () => {
      const counts: Record<string, number> = {}
      for (const w of active) {
        const reply = await w.send({ cmd: 'suspicions' })
        if (reply.event === 'suspicions') {
          for (const [peer, k] of Object.entries(reply.counts)) counts[peer] = (counts[peer] ?? 0) + k
        }
      }
      return counts
    },
    cpuMs: async () => {
      const replies = await Promise.all(active.map(async w => await w.send({ cmd: 'cpu' })))
      return replies.reduce((sum, r) => sum + (r.event === 'cpu' ? r.ms : 0), 0)
    },
    stop: async () => {
      await layout.stop()
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/** One measure's samples, timed at every council member (the targets) and at every agent. */
interface Timed {
  members: number[]
  all: number[]
}

interface Samples {
  atConvergence: Timed
  formation: Timed
  failover: Timed
  handover: Timed
  /** Suspect marks of agents never killed or stopped, all observers together: false suspicions. */
  falseSuspicions: number
  /** CPU the idle mesh used, in % of one core (see `IDLE_WINDOW_MS`). */
  idleCpuPercent: number
  /** The same with `IDLE_COUNCILS` councils active. */
  idleCouncilsCpuPercent: number
  /** CPU the processes used during each timed formation (open → every agent applied), in % of one core. */
  formationCpuPercent: number[]
  /** CPU each timed formation used beyond what the idle mesh would have in that time, in ms. */
  formationCpuMs: number[]
}

const timed = (): Timed => ({ members: [], all: [] })
/** The seats whose holders are killed, then stopped, one of each. */
const ROLES = ['coder', 'tpm', 'senior-software-architect']

/** The role the coordinator of council `id` holds, if any, as an agent still running sees it. */
async function coordinatorsRole(
  cluster: Cluster,
  n: number,
  gone: Set<number>,
  id: string
): Promise<string | undefined> {
  const viewer = Array.from({ length: n }, (_, i) => i).find(i => !gone.has(i)) as number
  const view = await cluster.view(viewer, id)
  return view?.roster.find(seat => seat.peerId === view.coordinator)?.role
}

/** Record the round that began at `t0` (NaN when not reached); returns a line for the log. */
function record(into: Timed, t0: number, at: Reached | null): string {
  const members = at === null ? NaN : at.members - t0
  const all = at === null ? NaN : at.all - t0
  into.members.push(members)
  into.all.push(all)
  return `${members} ms at every member, ${all} ms at every agent`
}

/**
 * One formation as soon as every agent sees every other (the mesh is still busy then), then
 * `runs` formations 2 s apart, then a crash and a graceful stop of a holder of each role (one
 * candidate of each role is left: three candidates per core role, four coders).
 */
async function measure(cluster: Cluster, n: number, runs: number): Promise<Samples> {
  const s: Samples = {
    atConvergence: timed(),
    formation: timed(),
    failover: timed(),
    handover: timed(),
    falseSuspicions: 0,
    idleCpuPercent: NaN,
    idleCouncilsCpuPercent: NaN,
    formationCpuPercent: [],
    formationCpuMs: []
  }
  const victims = new Set<string>()
  for (let r = -1; r < runs; r++) {
    const opener = (10 + r + n) % n
    // The processes' CPU from the open until every agent applied the commit: whether a
    // formation has the 2 cores to itself, and what it costs over the idle floor.
    const cpu0 = await cluster.cpuMs()
    const t0 = Date.now()
    const id = await cluster.open(opener, `bench-${r}`)
    const reached = await cluster.reached(id, 0)
    const cpu = (await cluster.cpuMs()) - cpu0
    const elapsed = Date.now() - t0
    const line = record(r < 0 ? s.atConvergence : s.formation, t0, reached)
    let cpuNote = ''
    if (r >= 0 && reached !== null) {
      const percent = (100 * cpu) / elapsed
      const overIdle = cpu - (s.idleCpuPercent / 100) * elapsed
      s.formationCpuPercent.push(percent)
      s.formationCpuMs.push(overIdle)
      cpuNote = `; CPU ${percent.toFixed(0)}% of one core meanwhile, ${overIdle.toFixed(0)} ms over idle`
    }
    out(`    formation ${r < 0 ? 'at convergence' : r + 1}: ${line}${cpuNote}`)
    await cluster.dissolve(opener, id)
    await settle()
    if (r < 0) {
      s.idleCpuPercent = await idleCpuPercent(cluster)
      out(`    idle CPU over ${IDLE_WINDOW_MS / 1000} s: ${s.idleCpuPercent.toFixed(0)}% of one core`)
    }
  }
  // The idle floor again, with councils active (opened one after another, by different agents:
  // each opener coordinates its council), dissolved before the failover samples.
  const live: Array<[number, string]> = []
  for (let k = 0; k < IDLE_COUNCILS; k++) {
    const opener = (n - 1 - k) % n
    const id = await cluster.open(opener, `idle-${k}`)
    live.push([opener, id])
    await cluster.reached(id, 0)
  }
  await new Promise(resolve => setTimeout(resolve, IDLE_COUNCILS_AGE_MS))
  s.idleCouncilsCpuPercent = await idleCpuPercent(cluster)
  out(
    `    idle CPU over ${IDLE_WINDOW_MS / 1000} s with ${IDLE_COUNCILS} councils active (${IDLE_COUNCILS_AGE_MS / 1000} s after they formed): ${s.idleCouncilsCpuPercent.toFixed(0)}% of one core`
  )
  for (const [opener, id] of live) await cluster.dissolve(opener, id)
  await settle()
  // Failover and handover on one long-lived council; the killed holders are not replaced.
  const id = await cluster.open(0, 'failover')
  await cluster.reached(id, 0)
  await settle()
  const gone = new Set<number>()
  for (const [kind, samples] of [
    ['crash', s.failover],
    ['graceful', s.handover]
  ] as const) {
    // Graceful stops begin with the coordinator's seat, when it holds one: a coordinator's
    // handover takes another path (it commits the handover itself) than a holder's.
    const first = kind === 'graceful' ? await coordinatorsRole(cluster, n, gone, id) : undefined
    for (const role of [...(first !== undefined ? [first] : []), ...ROLES.filter(r => r !== first)]) {
      // Read the roster from an agent still running: a stopped one keeps its last view.
      const viewer = Array.from({ length: n }, (_, i) => i).find(i => !gone.has(i)) as number
      const view = await cluster.view(viewer, id)
      const holder = view?.roster.find(seat => seat.role === role)?.peerId
      const victim = holder === undefined ? -1 : cluster.indexOf(holder)
      if (view === undefined || holder === undefined || victim < 0) continue
      gone.add(victim)
      victims.add(holder)
      // From the kill or the stop, not from its return: a graceful stop hands over before it returns.
      const t0 = Date.now()
      const reached = cluster.reached(id, view.epoch, holder)
      if (kind === 'crash') await cluster.crash(victim)
      else await cluster.leave(victim)
      const notes = [
        ...(victim === 0 ? ["everyone's bootstrap peer and this council's opener"] : []),
        ...(holder === view.coordinator ? ['the coordinator'] : [])
      ]
      out(
        `    ${kind} of the ${role} holder (agent ${victim}${notes.map(x => `, ${x}`).join('')}) → new commit: ${record(samples, t0, await reached)}`
      )
      await settle()
    }
  }
  const counts = await cluster.suspicions()
  s.falseSuspicions = Object.entries(counts)
    .filter(([peer]) => !victims.has(peer))
    .reduce((sum, [, k]) => sum + k, 0)
  out(`    false suspicions (suspect marks of agents never stopped, all observers): ${s.falseSuspicions}`)
  return s
}

async function main(): Promise<void> {
  const env = environment()
  const n = Number(process.env.BENCH_N ?? 34)
  const runs = Number(process.env.BENCH_RUNS ?? 5)
  const workers = Number(process.env.BENCH_WORKERS ?? 4)
  out(`council benchmark, N=${n} — ${env}`)
  // BENCH_LAYOUT=workers skips the one-process layout (at N=100 it takes minutes to converge).
  const only = process.env.BENCH_LAYOUT
  if (only !== undefined && only !== 'workers' && only !== 'process') {
    throw new Error(`BENCH_LAYOUT must be workers or process, not ${only}`)
  }
  const layouts: Array<[string, () => Promise<Cluster>]> = [
    ...(only === 'workers'
      ? []
      : [['one process', async () => await inProcess(n)] as [string, () => Promise<Cluster>]]),
    ...(only === 'process'
      ? []
      : [[`${workers} worker processes`, async () => await inWorkers(n, workers)] as [string, () => Promise<Cluster>]])
  ]
  const rows: string[] = []
  const suspicions: string[] = []
  const idle: string[] = []
  const busy: string[] = []
  for (const [label, start] of layouts) {
    out(`  ${label}:`)
    const t0 = Date.now()
    const cluster = await start()
    out(`    mesh ready: ${Date.now() - t0} ms`)
    let s: Samples
    try {
      s = await measure(cluster, n, runs)
    } finally {
      await cluster.stop()
    }
    suspicions.push(`${label}: ${s.falseSuspicions}`)
    idle.push(
      `${label}: ${s.idleCpuPercent.toFixed(0)}%, and ${s.idleCouncilsCpuPercent.toFixed(0)}% with ${IDLE_COUNCILS} councils active, ${IDLE_COUNCILS_AGE_MS / 1000} s after they formed`
    )
    busy.push(
      `${label}: ${median(s.formationCpuPercent).toFixed(0)}% of one core (samples ${s.formationCpuPercent.map(x => x.toFixed(0)).join(', ')}), ${median(s.formationCpuMs).toFixed(0)} ms of CPU over idle per formation (samples ${s.formationCpuMs.map(x => x.toFixed(0)).join(', ')})`
    )
    for (const [what, t] of [
      ['formation as soon as the mesh converged', s.atConvergence],
      ['formation, open → active', s.formation],
      ['crash failover, kill -9 of a holder → new epoch committed', s.failover],
      ['graceful handover, stop of a holder → new epoch committed', s.handover]
    ] as const) {
      rows.push(row(`${label}: ${what}, at every member`, t.members), row(`${label}: ${what}, at every agent`, t.all))
    }
  }
  // N=34 is the default section; other sizes (BENCH_N=100) get their own, next to it.
  await writeSection(
    `${n === 34 ? 'council' : `council-n${n}`}${only !== undefined ? `-${only}` : ''}`,
    [
      `## Councils: formation and failover${n === 34 ? '' : `, N=${n}`}${only === undefined ? '' : only === 'workers' ? `, ${workers} worker processes` : ', one process'}`,
      '',
      `Command: \`${n === 34 ? '' : `BENCH_N=${n} `}${only === undefined ? '' : `BENCH_LAYOUT=${only} `}npm run bench:council\` (${env}). N=${n} agents, ${only === 'workers' ? '' : 'all in **one process** (2 cores shared by all, one event loop)'}${only === undefined ? ', then ' : ''}${only === 'process' ? '' : `spread over ${workers} worker processes (as in the fan-out benchmark: still 2 cores for all)`}. Membership timings of the tests (heartbeat 500 ms, dead after 1.5 s, bootstrap peer released after 10-20 s); core roles tpm and senior-software-architect with three candidates each, optional coder (four candidates); the ten candidates are spread over the agents (candidate j is agent ⌊j·N/10⌋), so over every worker process. Each round is timed twice: until every running **member** of the council (its holders and standbys, ten agents here: what the targets time) reports the new state, and until every running **agent** of the tenant does (the other agents learn it from the gossiped commit); each by the last one's own change event (a polling loop in a loaded process noticed it up to ~500 ms late); samples are ${SETTLE_MS / 1000} s apart (after the previous council's dissolution or the previous stop), so that one sample's aftermath does not land in the next. The first council is opened as soon as every agent sees every other, while the mesh is still settling (syncs, grafts): it has its own row. Then the mesh idles ${IDLE_WINDOW_MS / 1000} s (its CPU is measured) before the other samples.`,
      '',
      '| measure (ms) | samples | p50 | p95 | all |',
      '|---|---|---|---|---|',
      ...rows,
      '',
      `Idle CPU (the agents' processes together, over ${IDLE_WINDOW_MS / 1000} s after the first formation, before the other samples; % of one core, out of 200%): ${idle.join('; ')}.`,
      '',
      `CPU during the timed formations (the processes together, from the open until every agent applied the commit, read through \`process.cpuUsage\`; median): ${busy.join('; ')}. 200% is both cores busy: the round then waits for CPU, not for the network.`,
      '',
      `False suspicions over the whole run (times an agent marked suspect an agent that was never stopped, summed over observers; one suspicion gossiped to N agents counts up to N times): ${suspicions.join('; ')}.`,
      '',
      `Targets: formation p50 ≤ 500 ms and p95 ≤ 1.5 s; crash failover p95 ≤ 3 s; graceful handover ≤ 250 ms. Most of the time is gossip crossing ${n} busy nodes on 2 cores; crash failover also includes failure detection (probe on connection loss, then \`CONCLAVE_DEAD_AFTER_MS\`).`
    ].join('\n')
  )
  out('written to docs/benchmarks.md')
}

/** A sample not reached within SAMPLE_TIMEOUT_MS is NaN: listed as such, left out of p50/p95. */
function row(label: string, v: number[]): string {
  const reached = v.filter(Number.isFinite).sort((a, b) => a - b)
  const missed = v.length - reached.length
  const stat = (x: number): string => (reached.length === 0 ? '-' : x.toFixed(0))
  return `| ${label} | ${v.length}${missed > 0 ? ` (${missed} not within 60 s)` : ''} | ${stat(median(reached))} | ${stat(percentile(reached, 95))} | ${v.map(x => (Number.isFinite(x) ? x.toFixed(0) : '> 60000')).join(', ')} |`
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`)
    process.exit(1)
  }
)
