/**
 * `npm run bench:memory`: episode replication latency (recorded → present at every tenant
 * member) and task dispatch latency (submitted → running at the holder) at N agents in one
 * process, and catch-up of 10,000 episodes by an agent starting with an empty data dir.
 * Prints the figures and writes them to docs/benchmarks.md.
 */
import type { Agent } from '../../src/agent/index.js'
import { episodeId, type Episode } from '../../src/memory/index.js'
import { Sim } from '../../src/sim/index.js'
import { percentile } from '../../src/util/stats.js'
import { environment, median, writeSection } from './report.js'

const out = (line: string): void => {
  process.stdout.write(line + '\n')
}

async function until(check: () => boolean, timeoutMs: number): Promise<number> {
  const t0 = Date.now()
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) return Number.NaN
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  return Date.now() - t0
}

/** Replication and dispatch latencies at N agents; returns the samples (ms). */
async function mesh(
  n: number,
  episodes: number,
  tasks: number
): Promise<{ replication: number[]; dispatch: number[]; rssMb: number }> {
  const arrivals = new Map<string, number[]>()
  const sim = await Sim.start({
    agents: n,
    roles: i => [i % 5 === 0 ? 'coder' : 'reviewer'],
    onAgentStarted: agent => {
      agent.memory.onEpisode(e => {
        arrivals.set(e.id, [...(arrivals.get(e.id) ?? []), Date.now()])
      })
    }
  })
  try {
    await until(() => sim.convergedCount() === n, 120_000)
    out(`  N=${n}: mesh formed`)
    const replication: number[] = []
    for (let i = 0; i < episodes; i++) {
      const agent = sim.running[(i * 7) % n] as Agent
      const t0 = Date.now()
      const e = await agent.memory.record('demo', { summary: `bench ${i}`, reward: i })
      const ms = await until(() => (arrivals.get(e.id)?.length ?? 0) >= n, 10_000)
      replication.push(Number.isNaN(ms) ? Number.NaN : Math.max(...(arrivals.get(e.id) ?? [])) - t0)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    out(
      `  replication: p50 ${percentile(replication, 50)} ms, p95 ${percentile(replication, 95)} ms over ${replication.length}`
    )
    const opener = sim.running[1] as Agent
    const council = await opener.councils.open({ project: 'bench', coreRoles: ['coder'] })
    await until(() => sim.running.every(a => a.councils.get(council)?.state === 'active'), 30_000)
    const holderId = opener.councils.get(council)?.roster[0]?.peerId
    const holder = sim.running.find(a => a.peerId === holderId) as Agent
    const dispatch: number[] = []
    for (let i = 0; i < tasks; i++) {
      const submitter = sim.running[(i * 11 + 3) % n] as Agent
      const { taskId } = await submitter.tasks.submit(council, { role: 'coder', input: { iteration: i, workMs: 0 } })
      await until(() => holder.tasks.get(council, taskId)?.state === 'done', 10_000)
      const t = holder.tasks.get(council, taskId)
      if (t?.startedAt !== null && t !== undefined) dispatch.push(t.startedAt - t.submittedAt)
    }
    out(`  dispatch: p50 ${percentile(dispatch, 50)} ms, p95 ${percentile(dispatch, 95)} ms over ${dispatch.length}`)
    return { replication, dispatch, rssMb: process.memoryUsage().rss / 2 ** 20 }
  } finally {
    await sim.stop()
  }
}

/** An agent with an empty data dir joins 3 agents holding `count` episodes: ms until it has them all. */
async function catchUp(count: number): Promise<number> {
  const sim = await Sim.start({ agents: 3 })
  try {
    await until(() => sim.convergedCount() === 3, 60_000)
    const origin = 'b0b0b0b0b0b0b0b0'
    const now = Date.now()
    const bulk: Episode[] = Array.from({ length: count }, (_, i) => ({
      id: episodeId(origin, i + 1),
      tenant: 'demo',
      origin,
      seq: i + 1,
      council: 'c',
      task: `t${i}`,
      agent: 'past',
      role: 'coder',
      summary: `episode ${i} ${'x'.repeat(100)}`,
      reward: 0.5,
      ts: now - count + i
    }))
    for (const a of sim.running) a.memory.import(bulk)
    const t0 = Date.now()
    const [fresh] = await sim.add(1)
    if (fresh === undefined) return Number.NaN
    await until(() => fresh.memory.store.count('demo') === count, 120_000)
    return Date.now() - t0
  } finally {
    await sim.stop()
  }
}

async function main(): Promise<void> {
  const env = environment()
  const n = Number(process.env.BENCH_N ?? 34)
  out(`memory and task benchmark, N=${n} — ${env}`)
  const { replication, dispatch } = await mesh(
    n,
    Number(process.env.BENCH_EPISODES ?? 100),
    Number(process.env.BENCH_TASKS ?? 50)
  )
  const catchUps: number[] = []
  for (let r = 0; r < 3; r++) {
    const ms = await catchUp(10_000)
    catchUps.push(ms)
    out(`  catch-up of 10,000 episodes (start → all stored): ${ms} ms`)
  }
  const row = (label: string, v: number[]): string =>
    `| ${label} | ${v.length} | ${percentile(v, 50).toFixed(0)} | ${percentile(v, 95).toFixed(0)} | ${Math.max(...v).toFixed(0)} |`
  await writeSection(
    'memory',
    [
      '## Episode replication, task dispatch, catch-up',
      '',
      `\`npm run bench:memory\` (N=${n} agents in one process, tenant envelopes) — ${env}`,
      '',
      '| measure (ms) | samples | p50 | p95 | max |',
      '|---|---|---|---|---|',
      row(`episode recorded → stored at all ${n} members`, replication),
      row('task submitted → running at the holder', dispatch),
      '',
      `Catch-up of 10,000 episodes by an agent started with an empty data dir (start → all stored, three runs): ${catchUps.map(v => `${v} ms`).join(', ')}; median ${median(catchUps).toFixed(0)} ms.`,
      '',
      "Episodes arrive by gossip (sealed envelopes on the `memory` channel) and, for what gossip missed, by anti-entropy pulls. Catch-up includes the agent's own start and its first pull (batches of 500 over `/conclave/memory/1.0.0`, one SQLite transaction each)."
    ].join('\n')
  )
  out(`written to docs/benchmarks.md`)
}

await main()
