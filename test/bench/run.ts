/**
 * `npm run bench`: the mesh side by side with NATS, measured in one run.
 *
 *   npm run bench                      quick mode (N=34, under 5 minutes on 2 cores)
 *   npm run bench -- --full            also N=100, longer runs, and every other benchmark
 *   npm run bench -- --rate 0.25       the light runs at 0.25 msg/s per agent (default 1)
 *   npm run bench -- --update-baseline make this run's figures the committed baseline
 *
 * Writes docs/benchmarks.md (section "fanout") and docs/benchmarks.json, and compares the quick
 * figures with docs/bench-baseline.json: what got worse by more than the margin is printed. It is
 * a report, never a failure: the machines are shared and noisy.
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  KEEP_UP_DELIVERED,
  KEEP_UP_OFFERED,
  offeredShare,
  runFanout,
  type FanoutInit,
  type FanoutResult
} from './fanout.js'
import { environment, provenance, writeSection } from './report.js'

const out = (line: string): void => {
  process.stdout.write(line + '\n')
}
const argv = process.argv.slice(2)
const args = new Set(argv)
/** `--rate R`: the light runs' rate, messages per second per agent (default 1). */
const rateAt = argv.indexOf('--rate')
const LIGHT_RATE_HZ = rateAt === -1 ? 1 : Number(argv[rateAt + 1])
if (!Number.isFinite(LIGHT_RATE_HZ) || LIGHT_RATE_HZ <= 0) {
  process.stderr.write(
    `--rate: expected a positive number of messages per second per agent, got ${argv[rateAt + 1] ?? 'nothing'}\n`
  )
  process.exit(2)
}
const FULL = args.has('--full')
const BASELINE = 'docs/bench-baseline.json'
/** A figure this much worse than the baseline is reported. */
const MARGIN = 0.25

interface Scenario {
  key: string
  label: string
  init: Omit<FanoutInit, 'dir'>
}

const common = { workers: 4, payloadBytes: 1024, drainMs: 5_000 }
/**
 * Heavy: "as fast as delivery keeps up". The rate per agent doubles at each step, on the same
 * agents, until the publishers cannot hold it or messages stop arriving everywhere (`keepsUp`).
 */
const HEAVY_RATES_HZ = [1, 2, 4, 8, 16, 32, 64]
const HEAVY_STEP_MS = FULL ? 10_000 : 5_000
const duration = FULL ? 30_000 : 10_000
/** How many times the kill run is repeated. */
const KILL_RUNS = 3

function scenarios(): Scenario[] {
  const list: Scenario[] = []
  for (const n of FULL ? [34, 100] : [34]) {
    for (const system of ['mesh', 'nats'] as const) {
      list.push({
        key: `${system}/${n}/light`,
        label: `${system}, N=${n}, light (${LIGHT_RATE_HZ} msg/s per agent)`,
        init: { ...common, system, agents: n, rateHz: LIGHT_RATE_HZ, durationMs: duration }
      })
    }
  }
  for (const n of FULL ? [34, 100] : [34]) {
    for (const system of ['mesh', 'nats'] as const) {
      list.push({
        key: `${system}/${n}/heavy`,
        label: `${system}, N=${n}, heavy`,
        init: {
          ...common,
          system,
          agents: n,
          rateHz: HEAVY_RATES_HZ[0] as number,
          stepRatesHz: HEAVY_RATES_HZ,
          durationMs: HEAVY_STEP_MS
        }
      })
    }
  }
  // Repeated: one run losing nothing proves little, the target is 0 lost in each of them.
  for (let run = 1; run <= KILL_RUNS; run++) {
    list.push({
      key: run === 1 ? 'mesh/34/kill-10%' : `mesh/34/kill-10%/${run}`,
      label: `mesh, N=34, 1 msg/s, 10% of agents killed mid-run (run ${run} of ${KILL_RUNS})`,
      init: { ...common, system: 'mesh', agents: 34, rateHz: 1, durationMs: 12_000, killFraction: 0.1, failAtMs: 4_000 }
    })
  }
  list.push({
    key: 'nats/34/outage-5s',
    label: 'nats, N=34, 1 msg/s, server stopped for 5 s mid-run',
    init: { ...common, system: 'nats', agents: 34, rateHz: 1, durationMs: 12_000, outageMs: 5_000, failAtMs: 3_000 }
  })
  return list
}

const fmt = (v: number | null, digits = 1): string => (v === null || Number.isNaN(v) ? '-' : v.toFixed(digits))

/** Lower is better for these; delivery ratio is the other way round. */
const COMPARED: Array<{ field: keyof FanoutResult; higherIsBetter?: boolean }> = [
  { field: 'deliveryRatio', higherIsBetter: true },
  { field: 'rateHz', higherIsBetter: true },
  { field: 'p50Ms' },
  { field: 'p99Ms' },
  { field: 'cpuMsPerDelivered' },
  { field: 'rssMbPerAgent' }
]

async function compare(results: Record<string, FanoutResult>): Promise<string[]> {
  let baseline: { results: Record<string, FanoutResult> }
  try {
    baseline = JSON.parse(await readFile(BASELINE, 'utf8'))
  } catch {
    return [`no baseline (${BASELINE}); run with --update-baseline to make one`]
  }
  const lines: string[] = []
  for (const [key, now] of Object.entries(results)) {
    const then = baseline.results[key]
    if (then === undefined) continue
    for (const { field, higherIsBetter } of COMPARED) {
      const a = then[field] as number
      const b = now[field] as number
      if (!Number.isFinite(a) || !Number.isFinite(b) || a === 0) continue
      const change = (b - a) / Math.abs(a)
      const worse = higherIsBetter === true ? change < -MARGIN / 10 : change > MARGIN
      if (worse) {
        lines.push(
          `WORSE  ${key} ${field}: ${fmt(a, 3)} → ${fmt(b, 3)} (${change > 0 ? '+' : ''}${(change * 100).toFixed(0)}%)`
        )
      }
    }
  }
  return lines.length > 0
    ? lines
    : [`nothing worse than the baseline by more than ${MARGIN * 100}% (delivery ratio: ${MARGIN * 10}%)`]
}

async function main(): Promise<void> {
  if (spawnSync('sh', ['-c', 'command -v nats-server']).status !== 0) {
    throw new Error("nats-server is not installed: apt-get install nats-server (Debian's package, the 2.9 line)")
  }
  const version = spawnSync('nats-server', ['--version'], { encoding: 'utf8' }).stdout.trim()
  const dir = await mkdtemp(join(tmpdir(), 'conclave-bench-'))
  const results: Record<string, FanoutResult> = {}
  const labels: Record<string, string> = {}
  const stepLines: string[] = []
  const t0 = Date.now()
  try {
    for (const s of scenarios()) {
      out(`running ${s.label} …`)
      const r = await runFanout({ ...s.init, dir })
      results[s.key] = r
      labels[s.key] =
        r.steps === undefined
          ? s.label
          : `${s.label}: ${r.steps.some(x => x.keptUp) ? `kept up with ${r.rateHz} msg/s per agent` : `kept up with none (from ${r.rateHz} msg/s per agent)`}`
      if (r.steps !== undefined) {
        stepLines.push(
          `${s.label}: ${r.steps.map(x => `${x.rateHz}/s ${x.keptUp ? 'kept up' : 'not kept up'} (${(x.offeredShare * 100).toFixed(0)}% published, ${(x.deliveryRatio * 100).toFixed(2)}% delivered, p99 ${fmt(x.p99Ms, 0)} ms)`).join('; ')}.`
        )
      }
      out(
        `  published ${r.sent} of ${r.offered} offered (${(offeredShare(r) * 100).toFixed(0)}% of the set rate), delivered ${r.delivered}/${r.expected} (${(r.deliveryRatio * 100).toFixed(2)}%), p50 ${fmt(r.p50Ms)} ms, p99 ${fmt(r.p99Ms)} ms, p99.9 ${fmt(r.p999Ms)} ms, CPU ${fmt(r.cpuMsPerDelivered, 3)} ms/delivered, RSS ${fmt(r.rssMbPerAgent)} MB/agent` +
          (s.init.failAtMs !== undefined ? `, lost ${r.lost}, recovery ${fmt(r.recoveryMs, 0)} ms` : '') +
          (r.missingSample.length > 0 ? `, never arrived (sample): ${r.missingSample.join(', ')}` : '') +
          (r.failedPublishes > 0 ? `, failed publishes ${r.failedPublishes}: ${JSON.stringify(r.publishErrors)}` : '')
      )
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  const ratio = (key: string, field: keyof FanoutResult): string => {
    const m = results[`mesh/${key}`]?.[field] as number | undefined
    const n = results[`nats/${key}`]?.[field] as number | undefined
    return m === undefined || n === undefined || n === 0 ? '-' : `${(m / n).toFixed(1)}×`
  }
  /** The highest rate a heavy run kept up with, or 'none'. */
  const keptUpRate = (key: string): string => {
    const r = results[key]
    if (r === undefined) return '-'
    return r.steps?.some(x => x.keptUp) === true ? String(r.rateHz) : 'none'
  }
  const rows = Object.entries(results).map(
    ([key, r]) =>
      `| ${labels[key] ?? key} | ${r.offered} (${(offeredShare(r) * 100).toFixed(0)}%) | ${r.delivered}/${r.expected} (${(r.deliveryRatio * 100).toFixed(2)}%) | ${fmt(r.p50Ms)} | ${fmt(r.p95Ms)} | ${fmt(r.p99Ms)} | ${fmt(r.p999Ms)} | ${fmt(r.cpuMsPerDelivered, 3)} | ${fmt(r.rssMbPerAgent)} | ${r.lost} | ${r.failedPublishes} | ${fmt(r.recoveryMs, 0)} |`
  )
  const body = `## Mesh and NATS side by side

Command: \`npm run bench${FULL || rateAt !== -1 ? ' --' : ''}${FULL ? ' --full' : ''}${rateAt !== -1 ? ` --rate ${LIGHT_RATE_HZ}` : ''}\` (${environment()}, ${version}). Every agent publishes 1 KiB messages to all the others (through tenant envelopes on the mesh; one subject on NATS), agents spread over 4 worker processes, NATS on loopback; latency from the publisher's timestamp to receipt. CPU is that of the worker processes (and of nats-server) per delivered message; RSS is theirs divided by the agents. ${((Date.now() - t0) / 1000) | 0} s in all.

| scenario | published (of the set rate) | delivered | p50 ms | p95 ms | p99 ms | p99.9 ms | CPU ms / delivered | RSS MB / agent | lost | failed publishes | recovery ms |
|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Ratios mesh/NATS at N=34, light: p50 ${ratio('34/light', 'p50Ms')}, p99 ${ratio('34/light', 'p99Ms')}, CPU per delivered message ${ratio('34/light', 'cpuMsPerDelivered')}, RSS per agent ${ratio('34/light', 'rssMbPerAgent')}. Heavy, highest rate kept up (msg/s per agent): mesh ${keptUpRate('mesh/34/heavy')}, NATS ${keptUpRate('nats/34/heavy')}; each row's figures are at that rate (at the first rate tried where none was kept up).

Messages lost between live agents with 10% of the mesh killed, in each of ${KILL_RUNS} runs: ${Object.entries(results)
    .filter(([key]) => key.startsWith('mesh/34/kill-10%'))
    .map(([, r]) => r.lost)
    .join(', ')}.

Heavy runs double the rate per agent every ${HEAVY_STEP_MS / 1000} s on the same agents and stop after the first rate not kept up: a rate is kept up when the publishers got out at least ${KEEP_UP_OFFERED * 100}% of it and ${KEEP_UP_DELIVERED * 100}% of the messages arrived everywhere. The highest rate NATS is asked for is ${HEAVY_RATES_HZ[HEAVY_RATES_HZ.length - 1]} msg/s per agent.

${stepLines.map(l => `- ${l}`).join('\n')}

"published (of the set rate)": messages the publishers got out; the share is of the publish slots the set rate gave them, counted from each publisher's own start (publishers start at staggered offsets within the first interval); a publisher whose event loop is saturated falls behind the set rate, so the mesh's offered load is lower than NATS's where that column is under 100%. Targets: delivery 100% without faults; at N=34 p99 ≤ 25 ms and within 3× of NATS's p99; at N=100 p99 ≤ 50 ms; 0 messages lost between live agents when 10% of the mesh is killed. "lost" counts messages between agents alive at the end that never arrived; "recovery" is from the NATS restart (or the mesh kill) to the next delivery.`
  out('\n' + body)
  await writeSection('fanout', body)
  await writeFile(
    'docs/benchmarks.json',
    JSON.stringify(
      { environment: environment(), ...provenance(), mode: FULL ? 'full' : 'quick', natsServer: version, results },
      null,
      2
    ) + '\n'
  )
  out('\nperformance budget (against ' + BASELINE + '):')
  for (const line of await compare(results)) out('  ' + line)
  if (args.has('--update-baseline')) {
    await writeFile(BASELINE, JSON.stringify({ environment: environment(), ...provenance(), results }, null, 2) + '\n')
    out(`baseline written to ${BASELINE}`)
  }
  if (FULL) {
    // The other issues' figures, each written to its own section by its own command.
    const others: Array<{ script: string; args?: string[]; env?: Record<string, string> }> = [
      { script: 'bench:discovery', args: ['--full'] },
      { script: 'bench:tenancy' },
      { script: 'bench:council' },
      { script: 'bench:council', env: { BENCH_N: '100' } },
      { script: 'bench:memory' },
      { script: 'bench:cluster' },
      { script: 'bench:simulate' }
    ]
    for (const { script, args = [], env = {} } of others) {
      const label = `${Object.entries(env)
        .map(([k, v]) => `${k}=${v} `)
        .join('')}npm run ${script}${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`
      out(`\n== ${label}`)
      const r = spawnSync('npm', ['run', '--silent', script, ...(args.length > 0 ? ['--', ...args] : [])], {
        stdio: 'inherit',
        env: { ...process.env, ...env }
      })
      if (r.status !== 0) out(`${label} exited with ${r.status ?? r.signal}`)
    }
  }
}

await main()
process.exit(0)
