/**
 * Membership scenarios: what happens to a simulated mesh, and which properties are checked.
 * `membership` measures (full view, detection, rejoin, leave, traffic idle and in a round);
 * `partitions` and `churn` are randomized fault trials that end with a heal and a convergence check.
 */
import type { CoreBugs, CoreOptions } from '../membership/core/index.js'
import type { CouncilBugs } from '../council/core/index.js'
import { CouncilMonitor } from './council-monitor.js'
import { openSimCouncil, settle } from './council-spec.js'
import { suspicionBounds, DEFAULT_CORE_OPTIONS } from '../membership/core/index.js'
import { converged, divergence, MembershipMonitor } from './monitor.js'
import type { NetworkOptions } from './network.js'
import { between, deriveSeed, prng } from './random.js'
import { World, type Traffic } from './world.js'

export interface TrialInit {
  agents: number
  seed: number
  trial: number
  network: NetworkOptions
  core?: Partial<CoreOptions>
  bugs?: CoreBugs
  councilBugs?: CouncilBugs
  onTrace?: (line: string) => void
}

/** Traffic per running agent per second over a window. */
export interface Load {
  msgsPerSec: number
  bytesPerSec: number
}

export interface TrialResult {
  world: World
  monitor: MembershipMonitor
  council: CouncilMonitor
  figures: Record<string, number | null>
  idle?: Load
  rounds?: Load
}

/** Longest a formation may take (simulated). */
const FORM_LIMIT_MS = 180_000
/** Longest the view may take to converge after the last fault. */
export const CONVERGE_LIMIT_MS = 120_000

function setup(init: TrialInit): {
  world: World
  monitor: MembershipMonitor
  council: CouncilMonitor
  random: () => number
  detectBound: number
} {
  const options = { ...DEFAULT_CORE_OPTIONS, ...init.core }
  const bounds = suspicionBounds(
    options.suspicionMult,
    options.suspicionMaxTimeoutMult,
    init.agents,
    options.probeIntervalMs
  )
  // A suspicion may run its longest with every timer stretched by poor local health.
  const window = bounds.max + options.probeIntervalMs * options.awarenessMax * 2
  // The monitor needs the world and the world reports to the monitor: it is hooked in once made.
  const hook: { monitor?: MembershipMonitor; council?: CouncilMonitor } = {}
  const world = new World(
    {
      agents: init.agents,
      seed: init.seed,
      network: init.network,
      ...(init.core !== undefined ? { core: init.core } : {}),
      ...(init.onTrace !== undefined ? { onTrace: init.onTrace } : {}),
      ...(init.bugs !== undefined ? { bugs: init.bugs } : {}),
      ...(init.councilBugs !== undefined ? { council: { bugs: init.councilBugs } } : {})
    },
    {
      change: (observer, change, now) => {
        hook.monitor?.change(observer, change, now)
      },
      council: (agent, effect, now) => {
        hook.council?.effect(agent, effect, now)
      }
    }
  )
  const monitor = new MembershipMonitor(world, init.trial, init.seed, window)
  hook.monitor = monitor
  const council = new CouncilMonitor(world, monitor)
  hook.council = council
  return {
    world,
    monitor,
    council,
    random: prng(deriveSeed(init.seed, 0x5ce7)),
    detectBound: window + options.gossipToTheDeadMs
  }
}

const snapshot = (world: World): Traffic & { at: number; up: number } => ({
  ...world.totals(),
  at: world.now,
  up: world.agents.filter(s => s.up).length
})

function loadBetween(a: ReturnType<typeof snapshot>, b: ReturnType<typeof snapshot>): Load {
  const seconds = Math.max(1e-9, (b.at - a.at) / 1_000)
  const agents = Math.max(1, Math.min(a.up, b.up))
  return {
    msgsPerSec: (b.sent - a.sent) / agents / seconds,
    bytesPerSec: (b.bytesSent - a.bytesSent) / agents / seconds
  }
}

/**
 * Start every agent within `spreadMs`, each contacting agent 0 (a bootstrap peer) and one agent
 * started before it (what discovery finds), and run until every agent sees every other alive.
 * Returns how long that took, or null.
 */
function form(world: World, monitor: MembershipMonitor, random: () => number, spreadMs: number): number | null {
  const n = world.agents.length
  for (let i = 0; i < n; i++) {
    const at = Math.floor((i * spreadMs) / n)
    const other = i > 1 ? between(random, 1, i - 1) : undefined
    world.at(at, () => {
      world.start(i, i === 0 ? [] : other === undefined ? [0] : [0, other])
    })
  }
  world.run(FORM_LIMIT_MS, () => world.now >= spreadMs && converged(world))
  if (!converged(world)) {
    monitor.violate('convergence', `the view did not form within ${FORM_LIMIT_MS} ms: ${divergence(world)}`)
    return null
  }
  return world.now
}

/** Run until converged; record the time from `from`, or a violation. */
function converge(world: World, monitor: MembershipMonitor, from: number, what: string): number | null {
  world.run(world.now + CONVERGE_LIMIT_MS, () => converged(world))
  if (converged(world)) return world.now - from
  monitor.violate(
    'convergence',
    `${what}: the view did not converge within ${CONVERGE_LIMIT_MS} ms: ${divergence(world)}`
  )
  return null
}

/** Formation, then a quiet minute, a crash, the crashed agent's return, and a graceful leave. */
export function membershipScenario(init: TrialInit): TrialResult {
  const { world, monitor, council, random, detectBound } = setup(init)
  const figures: TrialResult['figures'] = { fullViewMs: form(world, monitor, random, 1_000) }
  world.run(world.now + 10_000)
  const idleStart = snapshot(world)
  world.run(world.now + 30_000)
  const idle = loadBetween(idleStart, snapshot(world))
  let rounds: Load | undefined
  if (init.agents >= 3) {
    const victim = between(random, 1, init.agents - 1)
    const crashAt = world.now
    const before = snapshot(world)
    world.crash(victim)
    monitor.crashed(victim, crashAt)
    world.run(crashAt + detectBound, () => monitor.detections.length > 0)
    rounds = loadBetween(before, snapshot(world))
    figures.detectionMs = monitor.detections[0] ?? null
    monitor.checkDetection(detectBound)
    const back = world.now
    monitor.restarted(victim, back)
    world.start(victim, [0])
    figures.rejoinMs = converge(world, monitor, back, 'after the crashed agent returned')
    const leaver = victim === 1 ? 2 : 1
    const leaveAt = world.now
    monitor.disturb(leaver, Infinity)
    world.leave(leaver)
    world.run(leaveAt + 30_000, () =>
      world.agents.every(s => !s.up || s.index === leaver || s.core?.stateOf(world.slot(leaver).id) === 'left')
    )
    figures.leaveMs = world.agents.every(
      s => !s.up || s.index === leaver || s.core?.stateOf(world.slot(leaver).id) === 'left'
    )
      ? world.now - leaveAt
      : null
  }
  return { world, monitor, council, figures, idle, ...(rounds !== undefined ? { rounds } : {}) }
}

type Fault = (world: World, monitor: MembershipMonitor, random: () => number, end: number) => void

/** Cut a random minority off for `minMs` to `maxMs` (healed by `end`); returns it and the heal time. */
function cutOff(
  world: World,
  monitor: MembershipMonitor,
  random: () => number,
  end: number,
  minMs: number,
  maxMs: number
): { side: number[]; heal: number } {
  const n = world.agents.length
  const side = pickSome(random, n, between(random, 1, Math.max(1, Math.floor(n / 2))))
  world.network.partition([side])
  const heal = Math.min(end, world.now + between(random, minMs, maxMs))
  monitor.disturbAll(heal)
  world.at(heal, () => {
    world.network.heal()
  })
  return { side, heal }
}

/** Faults a trial draws from: each one starts now and ends by `end`. */
const FAULTS: Array<{ name: string; run: Fault }> = [
  {
    name: 'partition',
    run: (world, monitor, random, end) => {
      cutOff(world, monitor, random, end, 2_000, 25_000)
    }
  },
  {
    // A member of the cut-off side crashes just before the heal and comes back after it: what it
    // promised on its side must hold against the other side's proposals.
    name: 'partition-restart',
    run: (world, monitor, random, end) => {
      const { side, heal } = cutOff(world, monitor, random, end, 15_000, 30_000)
      const victim = side.find(i => i !== 0)
      if (victim !== undefined) {
        world.at(heal - between(random, 200, 2_000), () => {
          if (!world.slot(victim).up || world.slot(victim).core?.isLeaving === true) return
          world.crash(victim)
          monitor.crashed(victim, world.now)
          world.at(heal + between(random, 100, 2_000), () => {
            restart(world, monitor, victim, random)
          })
        })
      }
    }
  },
  {
    name: 'one-way',
    run: (world, monitor, random, end) => {
      const n = world.agents.length
      const from = pickSome(random, n, between(random, 1, Math.max(1, Math.floor(n / 3))))
      const to = [...Array(n).keys()].filter(i => !from.includes(i))
      world.network.cutOneWay(from, to)
      const heal = Math.min(end, world.now + between(random, 2_000, 15_000))
      monitor.disturbAll(heal)
      world.at(heal, () => {
        world.network.heal()
      })
    }
  },
  {
    name: 'crash',
    run: (world, monitor, random, end) => {
      const i = pickUp(world, random)
      if (i === undefined) return
      world.crash(i)
      monitor.crashed(i, world.now)
      // Some stay down for good: their detection is checked.
      if (random() < 0.6) {
        world.at(Math.min(end, world.now + between(random, 1_000, 30_000)), () => {
          restart(world, monitor, i, random)
        })
      }
    }
  },
  {
    name: 'pause',
    run: (world, monitor, random) => {
      const i = pickUp(world, random)
      if (i === undefined) return
      const ms = between(random, 500, 12_000)
      monitor.disturb(i, world.now + ms)
      world.pause(i, ms)
    }
  },
  {
    name: 'leave',
    run: (world, monitor, random, end) => {
      const i = pickUp(world, random)
      if (i === undefined) return
      monitor.disturb(i, Infinity)
      world.leave(i)
      world.at(Math.min(end, world.now + between(random, 3_000, 20_000)), () => {
        restart(world, monitor, i, random)
      })
    }
  }
]

function restart(world: World, monitor: MembershipMonitor, i: number, random: () => number): void {
  if (world.slot(i).up) return
  monitor.restarted(i, world.now)
  // The bootstrap peer, and one that discovery found.
  const seed = pickUp(world, random)
  world.start(i, seed === undefined ? [0] : [0, seed])
}

function pickUp(world: World, random: () => number): number | undefined {
  const up = world.agents.filter(s => s.up && s.index !== 0 && s.pausedUntil <= world.now && s.core?.isLeaving !== true)
  // Most of the mesh stays up: faults need someone to observe them.
  if (up.length <= world.agents.length / 2) return undefined
  return up[Math.floor(random() * up.length)]?.index
}

function pickSome(random: () => number, n: number, k: number): number[] {
  const all = [...Array(n).keys()]
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[all[i], all[j]] = [all[j] as number, all[i] as number]
  }
  return all.slice(0, k).sort((a, b) => a - b)
}

/**
 * Randomized faults for a minute (`names`: the kinds drawn), then every network fault healed and
 * every agent meant to return started: the view must converge, crashed agents must be detected.
 */
export function faultScenario(init: TrialInit, names: string[]): TrialResult {
  const { world, monitor, council, random, detectBound } = setup(init)
  const figures: TrialResult['figures'] = { fullViewMs: form(world, monitor, random, 500) }
  if (figures.fullViewMs === null) return { world, monitor, council, figures }
  openSimCouncil(world)
  const kinds = FAULTS.filter(f => names.includes(f.name))
  const start = world.now
  const end = start + 60_000
  let t = start + between(random, 500, 5_000)
  while (t < end - 2_000) {
    const fault = kinds[Math.floor(random() * kinds.length)]
    if (fault !== undefined) {
      world.at(t, () => {
        fault.run(world, monitor, random, end)
      })
    }
    t += between(random, 1_000, 12_000)
  }
  world.run(end)
  world.network.heal()
  monitor.disturbAll(world.now)
  const healedAt = world.now
  figures.convergenceMs = converge(world, monitor, healedAt, 'after the faults ended')
  world.run(Math.max(world.now, healedAt + detectBound))
  monitor.checkDetection(detectBound)
  if (figures.convergenceMs !== null) {
    figures.councilSettleMs = settle(world, monitor, council, world.now, 'after the faults ended')
  }
  return { world, monitor, council, figures }
}

/**
 * Councils: a formation once the view is full; `failover` then crashes the holder of the first
 * core role, `handover` makes it leave gracefully. Each figure runs from the event until every
 * running agent applied one epoch whose core seats are held by running agents.
 */
export function councilScenario(init: TrialInit, kind: 'formation' | 'failover' | 'handover'): TrialResult {
  const { world, monitor, council, random } = setup(init)
  const figures: TrialResult['figures'] = { fullViewMs: form(world, monitor, random, 500) }
  if (figures.fullViewMs === null) return { world, monitor, council, figures }
  world.run(world.now + 2_000)
  const openedAt = world.now
  openSimCouncil(world)
  figures.formationMs = settle(world, monitor, council, openedAt, 'formation')
  if (figures.formationMs === null || kind === 'formation') return { world, monitor, council, figures }
  world.run(world.now + 5_000)
  const c = world.agents.find(s => s.up && s.council !== undefined)?.council
  const seat = c?.roster.find(s => s.role === c.d.coreRoles[0])
  const victim = seat === undefined ? undefined : world.indexOf(seat.peerId)
  if (victim === undefined) return { world, monitor, council, figures }
  const at = world.now
  const gone = (): boolean => world.agents.every(s => !s.up || s.council?.roster.every(r => r.peerId !== seat?.peerId))
  if (kind === 'failover') {
    world.crash(victim)
    monitor.crashed(victim, at)
    figures.failoverMs = settle(world, monitor, council, at, 'failover', gone)
  } else {
    monitor.disturb(victim, Infinity)
    world.leave(victim, 5_000)
    figures.handoverMs = settle(world, monitor, council, at, 'handover', gone)
  }
  return { world, monitor, council, figures }
}

export const SCENARIO_FAULTS: Record<string, string[]> = {
  partitions: ['partition', 'partition-restart', 'one-way', 'crash', 'pause'],
  churn: ['crash', 'leave', 'pause']
}
