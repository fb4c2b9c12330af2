/**
 * `/metrics` (issue #7): after a council forms and a task runs, the council, task and latency
 * series exist with plausible values, and the whole exposition parses.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Agent } from '../src/agent/index.js'
import { Sim } from '../src/sim/index.js'
import { parseExposition, type Family } from './helpers/exposition.js'
import { ROOT } from './helpers/paths.js'
import { waitFor } from './helpers/wait.js'
import { apiFetch } from './helpers/api.js'

const roles = (i: number): string[] =>
  [['tpm'], ['senior-software-architect'], ['coder'], ['tpm'], ['senior-software-architect']][i] ?? []

async function scrape(agent: Agent): Promise<Map<string, Family>> {
  const res = await apiFetch(agent, `/metrics`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toContain('text/plain')
  return parseExposition(await res.text())
}

const value = (f: Family | undefined, name: string, labels: Record<string, string>): number | undefined =>
  f?.samples.find(s => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value

describe('metrics', () => {
  let sim: Sim
  beforeAll(async () => {
    sim = await Sim.start({ agents: 5, roles, overrides: { heartbeatMs: 300, deadAfterMs: 1_500, pingTimeoutMs: 500 } })
    await waitFor(() => sim.convergedCount() === 5, {
      timeoutMs: 60_000,
      message: () => `converged ${sim.convergedCount()}/5`
    })
  }, 90_000)
  afterAll(async () => {
    await sim?.stop()
  })

  it('council, task, delivery and replication series after a council forms and a task runs; the exposition parses', async () => {
    const agent = sim.agents[0] as Agent
    const id = await agent.councils.open({
      project: 'metrics',
      coreRoles: ['tpm', 'senior-software-architect'],
      optionalRoles: ['coder']
    })
    await waitFor(
      () => sim.running.every(a => a.councils.get(id)?.state === 'active' && a.councils.get(id)?.roster.length === 3),
      { timeoutMs: 30_000, message: 'council not active' }
    )
    const { taskId } = await agent.tasks.submit(id, { role: 'coder', input: { workMs: 5 } })
    await waitFor(() => agent.tasks.get(id, taskId)?.state === 'done', { timeoutMs: 30_000, message: 'task not done' })
    // The coder's episode reaches the others by gossip.
    await waitFor(() => sim.running.every(a => a.memory.query({ limit: 10 }).length > 0), {
      timeoutMs: 20_000,
      message: 'episode not replicated'
    })

    const tenant = sim.tenantsOf(0)[0] as string
    const metrics = await scrape(agent)
    for (const name of [
      'conclave_peers',
      'conclave_connections',
      'conclave_councils',
      'conclave_tasks',
      'conclave_gossip_messages_total',
      'conclave_gossip_rejected_total',
      'conclave_gossip_delivery_seconds',
      'conclave_council_formation_seconds',
      'conclave_council_failover_seconds',
      'conclave_memory_replication_lag_seconds',
      'libp2p_connection_manager_connections'
    ]) {
      expect(metrics.has(name), name).toBe(true)
    }
    expect(metrics.get('conclave_gossip_delivery_seconds')?.type).toBe('histogram')
    // Every series the shipped Grafana dashboard queries is one the agent exposes.
    const grafana = await readFile(join(ROOT, 'docker', 'grafana-dashboard.json'), 'utf8')
    const queried = new Set(
      [...grafana.matchAll(/\b((?:conclave|libp2p)_[a-z0-9_]+)/g)].map(m =>
        (m[1] as string).replace(/_(bucket|sum|count)$/, '')
      )
    )
    expect(queried.size).toBeGreaterThan(8)
    for (const name of queried) expect(metrics.has(name), `docker/grafana-dashboard.json queries ${name}`).toBe(true)
    expect(
      metrics.get('libp2p_data_transfer_bytes_total')?.samples.some(s => s.labels.protocol !== undefined && s.value > 0)
    ).toBe(true)
    expect(value(metrics.get('conclave_peers'), 'conclave_peers', { tenant, state: 'alive' })).toBe(4)
    expect(value(metrics.get('conclave_councils'), 'conclave_councils', { tenant, state: 'active' })).toBe(1)
    expect(value(metrics.get('conclave_tasks'), 'conclave_tasks', { tenant, state: 'done' })).toBe(1)

    // One formation observed, between 0 and the time it took here at most.
    const formation = metrics.get('conclave_council_formation_seconds')
    expect(value(formation, 'conclave_council_formation_seconds_count', { tenant })).toBe(1)
    const formed = value(formation, 'conclave_council_formation_seconds_sum', { tenant }) as number
    expect(formed).toBeGreaterThan(0)
    expect(formed).toBeLessThan(30)

    // Council gossip arrived, each delivery within plausible bounds (same host, same clock). At
    // another agent than the opener: the coordinator hears no council gossip of a formation
    // (it publishes the proposal and the commit, and the acks come to it directly).
    const delivery = (await scrape(sim.agents[1] as Agent)).get('conclave_gossip_delivery_seconds')
    const count = value(delivery, 'conclave_gossip_delivery_seconds_count', { channel: 'council' }) as number
    expect(count).toBeGreaterThan(0)
    const mean = (value(delivery, 'conclave_gossip_delivery_seconds_sum', { channel: 'council' }) as number) / count
    expect(mean).toBeGreaterThanOrEqual(0)
    expect(mean).toBeLessThan(5)

    // The coder's episode was replicated to this agent (unless this agent is the coder).
    const coder = sim.agents.findIndex(
      a => a.peerId === agent.councils.get(id)?.roster.find(s => s.role === 'coder')?.peerId
    )
    const observer = sim.agents[coder === 1 ? 2 : 1] as Agent
    const lag = (await scrape(observer)).get('conclave_memory_replication_lag_seconds')
    const replicated =
      (value(lag, 'conclave_memory_replication_lag_seconds_count', { tenant, source: 'gossip' }) ?? 0) +
      (value(lag, 'conclave_memory_replication_lag_seconds_count', { tenant, source: 'pull' }) ?? 0)
    expect(replicated).toBeGreaterThanOrEqual(1)
  })

  it('a failover is timed from degraded to active again', async () => {
    const agent = sim.agents[0] as Agent
    const id = await agent.councils.open({ project: 'failover', coreRoles: ['tpm', 'senior-software-architect'] })
    await waitFor(() => sim.running.every(a => a.councils.get(id)?.state === 'active'), {
      timeoutMs: 30_000,
      message: 'council not active'
    })
    const arch = agent.councils.get(id)?.roster.find(s => s.role === 'senior-software-architect')?.peerId
    const victim = sim.agents.find(a => a.peerId === arch) as Agent
    expect(victim).not.toBe(agent)
    const epoch = agent.councils.get(id)?.epoch as number
    await sim.crashAgent(victim)
    await waitFor(
      () => {
        const v = agent.councils.get(id)
        return v?.state === 'active' && v.epoch > epoch
      },
      { timeoutMs: 30_000, message: 'no failover' }
    )
    const tenant = sim.tenantsOf(0)[0] as string
    const failover = (await scrape(agent)).get('conclave_council_failover_seconds')
    expect(value(failover, 'conclave_council_failover_seconds_count', { tenant })).toBeGreaterThanOrEqual(1)
    const took = value(failover, 'conclave_council_failover_seconds_sum', { tenant }) as number
    expect(took).toBeGreaterThan(0)
    expect(took).toBeLessThan(30)
  })
})
