/**
 * The deterministic simulator running the real membership and council cores: thousands of randomized fault
 * trials per run, replayable from a seed; a monitor that does fail when the protocol is broken;
 * and idle traffic per agent that stays flat as the mesh grows (counted, not timed).
 */
import { describe, expect, it } from 'vitest'
import { simulate, trialSeed, type SimulateOptions, type Violation } from '../src/simulate/index.js'
import { runCli } from './helpers/cli.js'

const base: SimulateOptions = { agents: 9, seed: 1, scenario: 'partitions', trials: 1, latency: 'lan', loss: 0 }
const show = (v: Violation[]): string =>
  v
    .slice(0, 3)
    .map(x => `${x.property} (trial ${x.trial}, seed ${x.seed}): ${x.detail}`)
    .join('\n')

describe('simulator', () => {
  it('replays: one seed gives one trace, bit for bit; another seed another; a trial replays as a run of one', () => {
    const a = simulate({ ...base, seed: 42, trials: 3 })
    const b = simulate({ ...base, seed: 42, trials: 3 })
    expect(a.traceHash).toMatch(/^[0-9a-f]{64}$/)
    expect(b.traceHash).toBe(a.traceHash)
    expect(simulate({ ...base, seed: 43, trials: 3 }).traceHash).not.toBe(a.traceHash)
    const hashes: string[] = []
    simulate({
      ...base,
      seed: 42,
      trials: 3,
      onTrial: (_, r) => {
        hashes.push(r.world.traceHash())
      }
    })
    const third: string[] = []
    simulate({
      ...base,
      seed: trialSeed(42, 2),
      trials: 1,
      onTrial: (_, r) => {
        third.push(r.world.traceHash())
      }
    })
    expect(third[0]).toBe(hashes[2])
  })

  it('2,000 randomized fault trials of membership and a council (partitions, one-way cuts, crashes, restarts, pauses, leaves, loss) violate no property', () => {
    const runs: SimulateOptions[] = [
      { ...base, scenario: 'partitions', trials: 700, seed: 101, loss: 0.05 },
      { ...base, scenario: 'churn', trials: 700, seed: 202, loss: 0.05 },
      { ...base, scenario: 'partitions', agents: 5, trials: 300, seed: 303, loss: 0.1, duplicate: 0.05 },
      { ...base, scenario: 'churn', agents: 15, trials: 300, seed: 404, latency: 'wan', loss: 0.02 }
    ]
    let trials = 0
    for (const run of runs) {
      const r = simulate(run)
      trials += r.trials
      expect(r.violations, show(r.violations)).toEqual([])
      // Faults happened and were recovered from: crashed agents were detected, views converged.
      expect(r.figures.detectionMs).toBeGreaterThan(0)
      expect(r.figures.convergenceMs).toBeGreaterThan(0)
      // A council formed and settled again after the faults (the monitor checks every trial).
      expect(r.figures.councilSettleMs).toBeTypeOf('number')
    }
    expect(trials).toBe(2_000)
  }, 180_000)

  // Each deliberate bug must be caught within the trial budget of a CI run.
  it.each([
    ['noRefutation', 'accuracy', { scenario: 'partitions', loss: 0.05 }],
    ['suspectForever', 'detection', { scenario: 'churn', loss: 0 }]
  ] as const)(
    'catches a core that has the bug %s (%s)',
    (bug, property, run) => {
      const r = simulate({ ...base, ...run, seed: 7, trials: 200, bugs: { [bug]: true } })
      expect(r.violations.map(v => v.property)).toContain(property)
      // The same run without the bug is clean.
      expect(simulate({ ...base, ...run, seed: 7, trials: 200 }).violations).toEqual([])
    },
    60_000
  )

  // Each deliberate council bug is caught within the CI run's trial budget (2,000): the run stops at the first violation.
  it.each([
    ['doubleAck', 'fencing', {}],
    ['smallQuorum', 'majority', {}],
    ['forgetPromise', 'fencing', {}],
    // Acknowledging a proposal built on another member set than the commit applied: an agent that
    // missed a commit (more of them are lost here) proposes the same epoch again on the members it knew.
    ['staleBase', 'agreement', { agents: 5, loss: 0.1 }]
  ] as const)(
    'catches a council core that has the bug %s (%s)',
    (bug, property, options) => {
      const run = { ...base, scenario: 'partitions' as const, loss: 0.05, duplicate: 0.02, ...options }
      let caught: string[] = []
      let k = 0
      for (; k < 2_000 && caught.length === 0; k++) {
        caught = simulate({ ...run, seed: trialSeed(11, k), councilBugs: { [bug]: true } }).violations.map(
          v => v.property
        )
      }
      expect(caught, `not caught in ${k} trials`).toContain(property)
      // The same trials without the bug are clean.
      expect(simulate({ ...run, seed: 11, trials: k }).violations).toEqual([])
    },
    120_000
  )

  it.each(['formation', 'failover', 'handover'] as const)(
    'the %s scenario settles the council in every trial, over LAN and WAN',
    scenario => {
      for (const latency of ['lan', 'wan'] as const) {
        const r = simulate({ ...base, scenario, latency, trials: 20, seed: 21, loss: 0.02 })
        expect(r.violations, show(r.violations)).toEqual([])
        const figure = { formation: 'formationMs', failover: 'failoverMs', handover: 'handoverMs' }[scenario]
        expect(r.figures[figure], figure).toBeGreaterThan(0)
        expect(r.figures.formationMs).toBeGreaterThan(0)
      }
    },
    60_000
  )

  it('idle traffic per agent stays flat as the mesh grows ten-fold: about one probe and one ack a second', () => {
    const small = simulate({ ...base, scenario: 'membership', agents: 30, seed: 5 })
    const large = simulate({ ...base, scenario: 'membership', agents: 300, seed: 5 })
    expect(small.violations).toEqual([])
    expect(large.violations).toEqual([])
    const a = small.perAgent.msgsPerSecIdle as number
    const b = large.perAgent.msgsPerSecIdle as number
    expect(a).toBeGreaterThan(1.5)
    expect(a).toBeLessThan(3)
    expect(b / a).toBeLessThanOrEqual(1.2)
    // Every figure of the scenario was measured.
    for (const r of [small, large]) {
      for (const name of ['fullViewMs', 'detectionMs', 'rejoinMs', 'leaveMs']) {
        expect(r.figures[name], name).toBeGreaterThan(0)
      }
    }
  }, 60_000)
})

describe('conclave simulate', () => {
  it('prints one JSON object with the documented fields, the same trace for the same seed', async () => {
    const args = ['simulate', '--agents', '7', '--scenario', 'churn', '--trials', '5', '--seed', '9', '--json']
    const runs = await Promise.all(
      [runCli(args), runCli(args)].map(async p => ({ code: await p.exited, out: p.stdout(), err: p.stderr() }))
    )
    for (const r of runs) expect(r.code, r.err).toBe(0)
    const [a, b] = runs.map(r => JSON.parse(r.out) as Record<string, unknown>)
    expect(Object.keys(a ?? {}).sort()).toEqual([
      'agents',
      'figures',
      'latency',
      'loss',
      'perAgent',
      'scenario',
      'seed',
      'simulatedMs',
      'traceHash',
      'trials',
      'violations'
    ])
    expect(a).toMatchObject({ seed: 9, agents: 7, scenario: 'churn', trials: 5, violations: [] })
    expect(b?.traceHash).toBe(a?.traceHash)
    expect(Object.keys((a?.perAgent ?? {}) as object).sort()).toEqual([
      'bytesPerSecIdle',
      'msgsPerSecIdle',
      'msgsPerSecRounds'
    ])
  })

  it('runs the council scenarios: a failover prints its simulated time', async () => {
    const p = runCli(['simulate', '--agents', '9', '--scenario', 'failover', '--trials', '2', '--seed', '3', '--json'])
    expect(await p.exited, p.stderr()).toBe(0)
    const r = JSON.parse(p.stdout()) as { violations: unknown[]; figures: Record<string, number | null> }
    expect(r.violations).toEqual([])
    expect(r.figures.formationMs).toBeGreaterThan(0)
    expect(r.figures.failoverMs).toBeGreaterThan(0)
  })

  it.each([
    [['--agents', '0'], /--agents/],
    [['--seed', '-1'], /--seed/],
    [['--scenario', 'nope'], /--scenario: "nope"/],
    [['--latency', 'moon'], /--latency/],
    [['--loss', '1'], /--loss/],
    [['--trials', 'x'], /--trials/]
  ])('exits 2 on bad flags (%j)', async (flags, message) => {
    const p = runCli(['simulate', ...flags])
    expect(await p.exited).toBe(2)
    expect(p.stderr()).toMatch(message)
  })
})
