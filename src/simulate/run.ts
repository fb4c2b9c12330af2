/**
 * `conclave simulate`: trials of a scenario, each from a seed derived from the run's seed, their
 * violations, figures, traffic per agent and one hash over every trial's trace.
 */
import { createHash } from 'node:crypto'
import type { CoreBugs, CoreOptions } from '../membership/core/index.js'
import type { CouncilBugs } from '../council/core/index.js'
import type { Violation } from './monitor.js'
import type { LatencyModel } from './network.js'
import { deriveSeed } from './random.js'
import {
  councilScenario,
  faultScenario,
  membershipScenario,
  SCENARIO_FAULTS,
  type TrialInit,
  type TrialResult
} from './scenarios.js'

import { SCENARIOS, type Scenario } from './scenario-names.js'

export { SCENARIOS, type Scenario }

export interface SimulateOptions {
  agents: number
  seed: number
  scenario: Scenario
  trials: number
  latency: LatencyModel
  loss: number
  /** Chance that a message arrives twice. @default 0 */
  duplicate?: number
  core?: Partial<CoreOptions>
  /** Deliberate protocol bugs (tests of the monitor only). */
  bugs?: CoreBugs
  /** Deliberate council protocol bugs (tests of the monitor only). */
  councilBugs?: CouncilBugs
  /** Called after each trial (progress). */
  onTrial?: (trial: number, result: TrialResult) => void
}

export interface SimulateResult {
  seed: number
  agents: number
  scenario: Scenario
  trials: number
  latency: LatencyModel
  loss: number
  violations: Violation[]
  traceHash: string
  simulatedMs: number
  /** Medians over the trials of each figure (null where no trial produced one). */
  figures: Record<string, number | null>
  perAgent: { msgsPerSecIdle: number | null; bytesPerSecIdle: number | null; msgsPerSecRounds: number | null }
  /** Events the simulator carried out. */
  steps: number
}

/** The seed of trial `k` of a run seeded `seed`: trial 0 uses the run's seed, so a trial replays as a run of one. */
export function trialSeed(seed: number, k: number): number {
  return k === 0 ? seed : deriveSeed(seed, k)
}

function median(values: number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)] as number
}

export function simulate(o: SimulateOptions): SimulateResult {
  const hash = createHash('sha256')
  const violations: Violation[] = []
  const figureValues = new Map<string, number[]>()
  const idle: TrialResult['idle'][] = []
  const rounds: TrialResult['rounds'][] = []
  let simulatedMs = 0
  let steps = 0
  for (let k = 0; k < o.trials; k++) {
    const seed = trialSeed(o.seed, k)
    const init: TrialInit = {
      agents: o.agents,
      seed,
      trial: k,
      network: { latency: o.latency, loss: o.loss, duplicate: o.duplicate ?? 0 },
      ...(o.core !== undefined ? { core: o.core } : {}),
      ...(o.bugs !== undefined ? { bugs: o.bugs } : {}),
      ...(o.councilBugs !== undefined ? { councilBugs: o.councilBugs } : {})
    }
    const s = o.scenario
    const result =
      s === 'membership'
        ? membershipScenario(init)
        : s === 'formation' || s === 'failover' || s === 'handover'
          ? councilScenario(init, s)
          : faultScenario(init, SCENARIO_FAULTS[s] ?? [])
    hash.update(result.world.traceHash())
    violations.push(...result.monitor.violations)
    for (const [name, v] of Object.entries(result.figures)) {
      if (v !== null) figureValues.set(name, [...(figureValues.get(name) ?? []), v])
    }
    const detections = result.monitor.detections
    if (detections.length > 0 && !('detectionMs' in result.figures)) {
      figureValues.set('detectionMs', [...(figureValues.get('detectionMs') ?? []), ...detections])
    }
    if (result.idle !== undefined) idle.push(result.idle)
    if (result.rounds !== undefined) rounds.push(result.rounds)
    simulatedMs += result.world.now
    steps += result.world.steps
    o.onTrial?.(k, result)
  }
  const figures: Record<string, number | null> = {}
  for (const [name, values] of figureValues) figures[name] = median(values)
  const mean = (xs: Array<number | undefined>): number | null => {
    const v = xs.filter((x): x is number => x !== undefined)
    return v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length
  }
  return {
    seed: o.seed,
    agents: o.agents,
    scenario: o.scenario,
    trials: o.trials,
    latency: o.latency,
    loss: o.loss,
    violations,
    traceHash: hash.digest('hex'),
    simulatedMs,
    figures,
    perAgent: {
      msgsPerSecIdle: mean(idle.map(l => l?.msgsPerSec)),
      bytesPerSecIdle: mean(idle.map(l => l?.bytesPerSec)),
      msgsPerSecRounds: mean(rounds.map(l => l?.msgsPerSec))
    },
    steps
  }
}

/** The command that replays one trial. */
export function replayCommand(
  o: Pick<SimulateOptions, 'agents' | 'scenario' | 'latency' | 'loss'>,
  seed: number
): string {
  return `conclave simulate --agents ${o.agents} --scenario ${o.scenario} --seed ${seed} --trials 1 --latency ${o.latency}${o.loss > 0 ? ` --loss ${o.loss}` : ''}`
}
