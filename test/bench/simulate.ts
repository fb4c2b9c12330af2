/**
 * `npm run bench:simulate`: the membership and council cores at sizes no machine runs for real, in
 * the deterministic simulator (simulated time, counted messages): the time to a full view, to
 * detect a crash, for a crashed agent's return and a graceful leave, the traffic per agent idle and
 * in a failure round, and a council's formation, failover and handover, for the LAN and WAN
 * latency models.
 *
 *   npm run bench:simulate                 N = 34, 100, 1,000
 *   npm run bench:simulate -- --agents 2000
 */
import { simulate, type SimulateResult } from '../../src/simulate/index.js'
import { environment, writeSection } from './report.js'

const out = (line: string): void => {
  process.stdout.write(line + '\n')
}
const argv = process.argv.slice(2)
const at = argv.indexOf('--agents')
const sizes = at === -1 ? [34, 100, 1_000] : [Number(argv[at + 1])]
if (sizes.some(n => !Number.isInteger(n) || n < 3)) {
  process.stderr.write('--agents: expected a whole number of at least 3\n')
  process.exit(2)
}
const SEED = 1

const fmt = (v: number | null | undefined, digits = 0): string =>
  v === null || v === undefined ? '-' : v.toFixed(digits)
const rows: string[] = []
const results: Array<{ n: number; latency: string; r: SimulateResult }> = []
for (const latency of ['lan', 'wan'] as const) {
  for (const n of sizes) {
    const t0 = performance.now()
    const r = simulate({ agents: n, seed: SEED, scenario: 'membership', trials: 1, latency, loss: 0 })
    const wall = (performance.now() - t0) / 1_000
    results.push({ n, latency, r })
    const f = r.figures
    const p = r.perAgent
    const row = `| ${n} | ${latency} | ${fmt(f.fullViewMs)} | ${fmt(f.detectionMs)} | ${fmt(f.rejoinMs)} | ${fmt(f.leaveMs)} | ${fmt(p.msgsPerSecIdle, 2)} | ${fmt(p.bytesPerSecIdle)} | ${fmt(p.msgsPerSecRounds, 2)} | ${r.violations.length} | ${wall.toFixed(1)} |`
    rows.push(row)
    out(row)
  }
}
const idle = (n: number): number | null =>
  results.find(x => x.n === n && x.latency === 'lan')?.r.perAgent.msgsPerSecIdle ?? null
const largest = Math.max(...sizes)
const ratio =
  sizes.includes(100) && largest > 100
    ? `Idle messages per agent per second, N=${largest} ÷ N=100 (LAN): ${fmt((idle(largest) ?? NaN) / (idle(100) ?? NaN), 2)}.`
    : ''

await writeSection(
  'simulated',
  `## Membership at scale, simulated

Command: \`npm run bench:simulate\` (${environment()}). The real membership core of every agent over the simulated network and clock (\`conclave simulate --scenario membership --seed ${SEED}\`), default settings: agents start within one second, each contacting a bootstrap peer and one peer found before it; after the full view and 40 s of quiet, one agent is killed, started again, and another one leaves. Times are simulated milliseconds; traffic is counted per running agent (messages sent, and their estimated bytes on the wire), idle over 30 s after the view settled, and in the failure round from the kill until every agent declared it dead.

| agents | latency | full view ms | crash detected everywhere ms | return seen everywhere ms | leave seen everywhere ms | msgs/s per agent, idle | bytes/s per agent, idle | msgs/s per agent, failure round | violations | wall s |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

${ratio} An idle agent sends one ping and one ack a second whatever the size of the mesh; news rides on them, extra gossip goes out only while news is queued, and the push-pull with one member stretches with the size (its bytes grow with the view, its frequency falls). N=10,000 is out of reach of one process today: every agent holds the whole view, so the simulation holds N² members (2,000 agents: 2.7 GB, 73 s).`
)
out('written to docs/benchmarks.md (section "simulated")')

// Councils: the real council core of every agent, on top of the membership core.
const councilRows: string[] = []
for (const latency of ['lan', 'wan'] as const) {
  for (const n of sizes) {
    const t0 = performance.now()
    const figures: Record<string, number | null> = {}
    let violations = 0
    for (const scenario of ['formation', 'failover', 'handover'] as const) {
      const r = simulate({ agents: n, seed: SEED, scenario, trials: 1, latency, loss: 0 })
      Object.assign(figures, r.figures)
      violations += r.violations.length
    }
    const wall = (performance.now() - t0) / 1_000
    const row = `| ${n} | ${latency} | ${fmt(figures.formationMs)} | ${fmt(figures.failoverMs)} | ${fmt(figures.handoverMs)} | ${violations} | ${wall.toFixed(1)} |`
    councilRows.push(row)
    out(row)
  }
}
// A minute of churn (crashes, restarts, leaves, pauses) with a council, at every size: wall time.
const churnRows: string[] = []
for (const n of sizes) {
  const t0 = performance.now()
  const r = simulate({ agents: n, seed: SEED, scenario: 'churn', trials: 1, latency: 'lan', loss: 0 })
  const wall = (performance.now() - t0) / 1_000
  const row = `| ${n} | ${fmt(r.figures.convergenceMs)} | ${fmt(r.figures.detectionMs)} | ${fmt(r.simulatedMs)} | ${r.violations.length} | ${wall.toFixed(1)} |`
  churnRows.push(row)
  out(row)
}
await writeSection(
  'simulated-councils',
  `## Councils at scale, simulated

Command: \`npm run bench:simulate\` (${environment()}). The real council core of every agent on top of its membership core (\`conclave simulate --scenario formation|failover|handover --seed ${SEED}\`): once the view is full, agent 0 opens a council of three core and two optional roles, every agent able to hold two of them. Formation runs from the open until every agent applied one epoch with every core seat held; failover from the kill of the first core role's holder, handover from its graceful leave, until every running agent applied a roster without it. Simulated milliseconds; a publication travels over a gossipsub mesh (D = 6), hop by hop, each hop with the latency model's delay.

| agents | latency | formation ms | failover ms | handover ms | violations | wall s (three runs) |
|---|---|---|---|---|---|---|
${councilRows.join('\n')}

A churn trial (\`--scenario churn\`, LAN): a minute of crashes, restarts, graceful leaves and pauses with the council open, then the view and the council must settle.

| agents | view converged after the faults ms | crash detected everywhere ms (median) | simulated ms | violations | wall s |
|---|---|---|---|---|---|
${churnRows.join('\n')}

Failover waits for the coordinator's membership core to declare the holder dead (the suspicion timeout, which grows with log N); the council's own part (proposal, acks, commit) takes a few round trips after that. A handover needs no detection: the leaver resigns, and the coordinator proposes at once.`
)
out('written to docs/benchmarks.md (section "simulated-councils")')
