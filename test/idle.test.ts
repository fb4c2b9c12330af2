/**
 * What an idle mesh of real agents costs each agent, counted in messages: it must not grow with
 * the mesh. Presence rides on probes (one connected member pinged a second), changes are announced
 * when they happen, and heartbeats are a backstop of about one a minute for the whole tenant, so
 * an agent of a mesh four times larger sends about as many messages.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Agent } from '../src/agent/index.js'
import { Sim } from '../src/sim/index.js'
import type { AgentConfig } from '../src/config/index.js'
import { waitFor } from './helpers/wait.js'

let sim: Sim | undefined
afterEach(async () => {
  await sim?.stop()
  sim = undefined
})

/** Join syncs (1, 1, 2, 4 and 8 s after a start) and start announcements are over by then. */
const SETTLE_MS = 18_000
const WINDOW_MS = 10_000

async function counter(agent: Agent, name: string, direction?: string): Promise<number> {
  const metric = agent.metrics.registry.getSingleMetric(name)
  if (metric === undefined) throw new Error(`metric ${name} is not registered`)
  const values = (await metric.get()).values
  return values
    .filter(v => direction === undefined || v.labels.direction === direction)
    .reduce((s, v) => s + v.value, 0)
}

/** Messages every agent sent: gossipsub RPCs, membership pings, and syncs (three messages each). */
async function sent(agents: Agent[]): Promise<{ rpcs: number; pings: number; syncs: number }> {
  const out = { rpcs: 0, pings: 0, syncs: 0 }
  for (const a of agents) {
    out.rpcs += await counter(a, 'conclave_gossipsub_rpcs_total', 'out')
    out.pings += await counter(a, 'conclave_membership_pings_total')
    out.syncs += await counter(a, 'conclave_membership_syncs_total')
  }
  return out
}

/** Messages sent per agent per second by an idle, settled mesh of `n` agents. */
async function idleRate(
  n: number,
  overrides: Partial<AgentConfig> = {}
): Promise<{ perAgent: number; detail: string }> {
  sim = await Sim.start({ agents: n, overrides })
  const s = sim
  await waitFor(() => s.convergedCount() === n, {
    timeoutMs: 60_000,
    message: () => `converged ${s.convergedCount()}/${n}`
  })
  await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
  const before = await sent(s.agents)
  const t0 = performance.now()
  await new Promise(resolve => setTimeout(resolve, WINDOW_MS))
  const after = await sent(s.agents)
  const seconds = (performance.now() - t0) / 1_000
  await s.stop()
  sim = undefined
  const rpcs = after.rpcs - before.rpcs
  const pings = after.pings - before.pings
  const syncs = after.syncs - before.syncs
  const perAgent = (rpcs + pings + 3 * syncs) / n / seconds
  return {
    perAgent,
    detail: `${n} agents: ${perAgent.toFixed(2)} msgs/s per agent (gossipsub RPCs ${rpcs}, pings ${pings}, syncs ${syncs} in ${seconds.toFixed(1)} s)`
  }
}

describe('an idle mesh', () => {
  it('costs each agent about one probe a second, as many messages at 20 agents as at 5', async () => {
    const small = await idleRate(5)
    const large = await idleRate(20)
    const detail = `${small.detail}; ${large.detail}`
    // One probe a second, a little gossipsub control and the rare sync.
    expect(small.perAgent, detail).toBeGreaterThan(0.5)
    expect(large.perAgent, detail).toBeLessThan(2)
    expect(large.perAgent / small.perAgent, detail).toBeLessThanOrEqual(1.3)
  }, 240_000)
})
