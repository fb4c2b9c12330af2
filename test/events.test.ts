/**
 * The event stream (`GET /v1/events`, Server-Sent Events): a client sees a council's life in
 * order, and resumes after a reconnect without gaps (`Last-Event-ID`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Agent } from '../src/agent/index.js'
import type { AgentEvent } from '../src/events/index.js'
import { Sim } from '../src/sim/index.js'
import { openSse, type SseClient } from './helpers/sse.js'
import { waitFor } from './helpers/wait.js'
import { apiFetch } from './helpers/api.js'

const roles = (i: number): string[] =>
  [['tpm'], ['senior-software-architect'], ['coder'], ['tpm'], ['senior-software-architect']][i] ?? []
const seq = (id: string | undefined): number => Number(id?.slice(id.lastIndexOf('-') + 1))

/** Read events until `stop` is true of one; every event is returned. */
async function readUntil(
  client: SseClient,
  stop: (e: AgentEvent) => boolean,
  timeoutMs = 30_000
): Promise<AgentEvent[]> {
  const seen: AgentEvent[] = []
  const deadline = Date.now() + timeoutMs
  while (true) {
    const raw = await client.next(Math.max(1, deadline - Date.now()))
    if (raw === undefined) throw new Error('stream ended')
    const event = JSON.parse(raw.data) as AgentEvent
    expect(raw.id).toBe(event.id)
    expect(raw.event).toBe(event.type)
    seen.push(event)
    if (stop(event)) return seen
  }
}

describe('event stream', () => {
  let sim: Sim
  let agent: Agent
  const auth = (): Record<string, string> => ({ authorization: `Bearer ${agent.apiToken}` })
  beforeAll(async () => {
    sim = await Sim.start({ agents: 5, roles, overrides: { heartbeatMs: 300, deadAfterMs: 1_500, pingTimeoutMs: 500 } })
    await waitFor(() => sim.convergedCount() === 5, {
      timeoutMs: 60_000,
      message: () => `converged ${sim.convergedCount()}/5`
    })
    agent = sim.agents[0] as Agent
  }, 90_000)
  afterAll(async () => {
    await sim?.stop()
  })

  it('streams a council from forming to active in order, then resumes after a reconnect without gaps', async () => {
    const first = await openSse(`${agent.url}/v1/events`, auth())
    // The backlog first: membership events of the mesh forming, in id order.
    const backlog = await readUntil(
      first,
      e => e.type === 'member' && e.data.peerId === sim.agents[4]?.peerId && e.data.state === 'alive'
    )
    expect(backlog.every(e => e.type === 'member')).toBe(true)

    const res = await apiFetch(agent, `/v1/councils`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        project: 'sse',
        coreRoles: ['tpm', 'senior-software-architect'],
        optionalRoles: ['coder']
      })
    })
    const { id } = (await res.json()) as { id: string }
    const life = await readUntil(
      first,
      e =>
        e.type === 'council' &&
        e.data.id === id &&
        e.data.state === 'active' &&
        (e.data.roster as unknown[]).length === 3
    )
    const all = [...backlog, ...life]
    // No gap, nothing twice: ids count up by one.
    for (let i = 1; i < all.length; i++) expect(seq(all[i]?.id), `event ${i}`).toBe(seq(all[i - 1]?.id) + 1)
    const council = all.filter(e => e.type === 'council' && e.data.id === id)
    expect(council[0]?.data.state).toBe('forming')
    expect(council.at(-1)?.data.state).toBe('active')
    const epochs = council.map(e => e.data.epoch as number)
    expect(epochs).toEqual([...epochs].sort((a, b) => a - b))
    for (let i = 1; i < all.length; i++) {
      expect((all[i] as AgentEvent).ts).toBeGreaterThanOrEqual((all[i - 1] as AgentEvent).ts)
    }
    const lastId = all.at(-1)?.id as string
    first.close()

    // While disconnected: the council is dissolved and a task-less agent leaves.
    await apiFetch(agent, `/v1/councils/${id}`, { method: 'DELETE' })
    const leaver = sim.agents[2] as Agent
    await sim.stopAgent(leaver)
    await waitFor(() => agent.membership.peers().some(p => p.peerId === leaver.peerId && p.state === 'left'), {
      timeoutMs: 20_000,
      message: 'leave not seen'
    })

    const second = await openSse(`${agent.url}/v1/events`, { ...auth(), 'last-event-id': lastId })
    const missed = await readUntil(
      second,
      e => e.type === 'member' && e.data.peerId === leaver.peerId && e.data.state === 'left'
    )
    expect(seq(missed[0]?.id)).toBe(seq(lastId) + 1)
    for (let i = 1; i < missed.length; i++) expect(seq(missed[i]?.id)).toBe(seq(missed[i - 1]?.id) + 1)
    expect(missed.some(e => e.type === 'council' && e.data.id === id && e.data.state === 'dissolved')).toBe(true)
    second.close()
  })

  it('filters by type, replays everything for an id of another run, and refuses unknown types', async () => {
    const councils = await openSse(`${agent.url}/v1/events?types=council`, { ...auth(), 'last-event-id': 'feedbeef-3' })
    const event = await councils.next()
    expect(event?.event).toBe('council')
    councils.close()
    const all = await openSse(`${agent.url}/v1/events`, { ...auth(), 'last-event-id': 'feedbeef-3' })
    expect(seq((await all.next())?.id)).toBe(1)
    all.close()
    const bad = await apiFetch(agent, `/v1/events?types=council,gossip`)
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ field: 'types' })
  })
})
