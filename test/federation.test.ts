/**
 * The federation scenario of issue #5 with real agents: four collaborators in one tenant and a
 * fifth in another, each running 10+ tasks; episodes replicated to every member; nothing crosses.
 */
import { describe, expect, it } from 'vitest'
import { federationProblems, FEDERATION_TENANT, runFederation, type FederationReport } from '../src/sim/index.js'
import { topicFor } from '../src/tenancy/index.js'
import { runCli } from './helpers/cli.js'
import { waitFor } from './helpers/wait.js'

describe('federation scenario', () => {
  it('five agents, two tenants: tasks, replicated memory, no leaks, clean shutdown', async () => {
    const eavesdropped: Uint8Array[] = []
    let summaries: string[] = []
    const report: FederationReport = await runFederation({
      iterations: 10,
      inspect: async sim => {
        // The other tenant's agent listens on the collaboration's memory topic (it has no key).
        const outsider = sim.agents[4]
        const topic = topicFor(FEDERATION_TENANT)
        const pubsub = outsider?.node.services.pubsub
        if (pubsub === undefined) throw new Error('no outsider')
        pubsub.addEventListener('message', evt => {
          if (evt.detail.topic === topic) eavesdropped.push(evt.detail.data)
        })
        pubsub.subscribe(topic)
        const collaborator = sim.agents[0]
        if (collaborator === undefined) throw new Error('no collaborator')
        // Publishers send to the peers they know subscribed: wait until the subscription reached
        // the collaborator, or the loop below may be over before the outsider is sent anything.
        await waitFor(
          () => collaborator.node.services.pubsub.getSubscribers(topic).some(p => p.equals(outsider?.node.peerId)),
          { timeoutMs: 10_000, message: "the outsider's subscription did not reach the collaborator" }
        )
        const council = collaborator.councils.list()[0]?.id as string
        const t0 = Date.now()
        // One more loop while the outsider listens, so there is traffic to overhear.
        const { taskId } = await collaborator.tasks.submit(council, {
          role: 'researcher',
          input: { iteration: 99, chain: true }
        })
        while (Date.now() - t0 < 15_000 && collaborator.tasks.get(council, taskId)?.state !== 'done') {
          await new Promise(resolve => setTimeout(resolve, 20))
        }
        summaries = collaborator.memory.query({ tenant: FEDERATION_TENANT, limit: 10_000 }).map(e => e.summary)
      }
    })
    expect(report.discoveryMs).toBeLessThan(10_000)
    for (const a of report.agents) expect(a.tasksCompleted, a.name).toBeGreaterThanOrEqual(10)
    expect(report.episodesTotal).toBeGreaterThanOrEqual(50)
    for (const a of report.agents) {
      expect(a.episodes, a.name).toBeGreaterThanOrEqual(a.tenant === FEDERATION_TENANT ? 40 : 10)
    }
    expect(report.crossTenant).toEqual([])
    expect(report.replication.samples).toBeGreaterThanOrEqual(40)
    expect(report.replication.p95Ms).toBeLessThan(100)
    expect(report.logProblems).toEqual([])
    expect(report.shutdown).toEqual({ graceful: 5, of: 5 })
    expect(federationProblems(report)).toEqual([])
    // What the outsider overheard is sealed: no summary appears in it.
    const overheard = Buffer.concat(eavesdropped).toString('latin1')
    expect(eavesdropped.length).toBeGreaterThan(0)
    expect(summaries.length).toBeGreaterThan(40)
    for (const s of summaries) expect(overheard.includes(s.slice(0, 24))).toBe(false)
  }, 180_000)

  it('runs as `conclave sim --scenario federation` and exits 0 with a report that meets the bar', async () => {
    const proc = runCli(['sim', '--scenario', 'federation', '--iterations', '10', '--http-base-port', '0', '--json'])
    expect(await proc.exited, proc.stderr()).toBe(0)
    const report = JSON.parse(proc.stdout().trim().split('\n').pop() ?? '{}') as FederationReport & {
      problems: string[]
    }
    expect(report.problems).toEqual([])
    expect(report.agents).toHaveLength(5)
    expect(report.episodesTotal).toBeGreaterThanOrEqual(50)
    expect(report.shutdown).toEqual({ graceful: 5, of: 5 })
  }, 180_000)
})
