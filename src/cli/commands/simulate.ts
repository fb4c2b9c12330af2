import { replayCommand, SCENARIOS, simulate, type Scenario, type SimulateResult } from '../../simulate/index.js'
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK } from '../exit.js'

export interface SimulateFlags {
  agents: string
  seed?: string
  scenario: string
  trials: string
  latency: string
  loss: string
  json?: boolean
}

/** Most agents a run takes. */
const MAX_AGENTS = 10_000

function parse(
  f: SimulateFlags
): { agents: number; seed: number; scenario: Scenario; trials: number; latency: 'lan' | 'wan'; loss: number } | string {
  const agents = Number(f.agents)
  if (!/^\d+$/.test(f.agents) || agents < 1 || agents > MAX_AGENTS) {
    return `--agents: "${f.agents}" must be a whole number from 1 to ${MAX_AGENTS}`
  }
  const seed = f.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : Number(f.seed)
  if (f.seed !== undefined && (!/^\d+$/.test(f.seed) || seed >= 2 ** 32)) {
    return `--seed: "${f.seed}" must be a whole number below 2^32`
  }
  if (!(SCENARIOS as readonly string[]).includes(f.scenario)) {
    return `--scenario: "${f.scenario}" is not one of ${SCENARIOS.join(', ')}`
  }
  const scenario = f.scenario as Scenario
  const trials = Number(f.trials)
  if (!/^\d+$/.test(f.trials) || trials < 1 || trials > 1_000_000) {
    return `--trials: "${f.trials}" must be a whole number from 1 to 1000000`
  }
  if (f.latency !== 'lan' && f.latency !== 'wan') return `--latency: "${f.latency}" is not lan or wan`
  const loss = Number(f.loss)
  if (f.loss.trim() === '' || !Number.isFinite(loss) || loss < 0 || loss >= 1) {
    return `--loss: "${f.loss}" must be a chance from 0 up to (not including) 1`
  }
  return { agents, seed, scenario, trials, latency: f.latency, loss }
}

const fmt = (v: number | null): string => (v === null ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(2))

function print(r: SimulateResult, wallMs: number): void {
  const out = (line: string): void => {
    process.stdout.write(line + '\n')
  }
  out(
    `${r.scenario}: ${r.agents} agents, ${r.trials} trial${r.trials === 1 ? '' : 's'}, seed ${r.seed}, ${r.latency}${r.loss > 0 ? `, loss ${r.loss}` : ''}`
  )
  out(`  simulated ${(r.simulatedMs / 1_000).toFixed(1)} s in ${(wallMs / 1_000).toFixed(1)} s (${r.steps} events)`)
  for (const [name, v] of Object.entries(r.figures)) out(`  ${name.padEnd(16)} ${fmt(v)}`)
  out(
    `  per agent: ${fmt(r.perAgent.msgsPerSecIdle)} msgs/s and ${fmt(r.perAgent.bytesPerSecIdle)} bytes/s idle, ${fmt(r.perAgent.msgsPerSecRounds)} msgs/s in a failure round`
  )
  out(`  trace ${r.traceHash}`)
  if (r.violations.length === 0) out('  no property violated')
  for (const v of r.violations.slice(0, 20)) {
    out(
      `  VIOLATED ${v.property} in trial ${v.trial} (seed ${v.seed}): ${v.detail}\n    replay: ${replayCommand(r, v.seed)}`
    )
  }
  if (r.violations.length > 20) out(`  … and ${r.violations.length - 20} more`)
}

/** `conclave simulate`: deterministic trials of the real protocol cores over a simulated network. */
export function simulateCommand(flags: SimulateFlags): number {
  const o = parse(flags)
  if (typeof o === 'string') {
    process.stderr.write(`conclave: ${o}\n`)
    return EXIT_CONFIG
  }
  const started = performance.now()
  const result = simulate(o)
  if (flags.json === true) {
    const { steps: _steps, ...rest } = result
    process.stdout.write(
      JSON.stringify({
        ...rest,
        violations: result.violations.map(v => ({ ...v, replay: replayCommand(result, v.seed) }))
      }) + '\n'
    )
  } else {
    print(result, performance.now() - started)
  }
  return result.violations.length === 0 ? EXIT_OK : EXIT_FAILURE
}
