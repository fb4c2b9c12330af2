/**
 * Councils survive restarts. An agent that comes back with its peer id but without its councils
 * may be the coordinator every other member waits for: the council would never be announced
 * again (seen in the namespace cluster's rolling restart). Agents keep their councils in the
 * data dir, and members announce a commit nobody announced for too long.
 */
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Agent } from '../src/agent/index.js'
import { councilDefaults, savedCouncilsSchema, type CouncilView, type SavedCouncil } from '../src/council/index.js'
import { Sim } from '../src/sim/index.js'
import { councilState } from './helpers/council-state.js'
import { waitFor } from './helpers/wait.js'

const roles = (i: number): string[] =>
  [['tpm'], ['tpm'], ['senior-software-architect'], ['senior-software-architect'], ['coder']][i] ?? []
const FAST = { heartbeatMs: 300, deadAfterMs: 1_500, pingTimeoutMs: 500 }

async function agreed(
  agents: Agent[],
  id: string,
  accept: (v: CouncilView) => boolean,
  timeoutMs = 40_000
): Promise<CouncilView> {
  let view: CouncilView | undefined
  await waitFor(
    () => {
      const views = agents.map(a => a.councils.get(id))
      const first = views[0]
      if (first === undefined || !accept(first)) return false
      const same = views.every(
        v =>
          v !== undefined &&
          v.state === first.state &&
          v.epoch === first.epoch &&
          JSON.stringify(v.roster) === JSON.stringify(first.roster)
      )
      if (same) view = first
      return same
    },
    {
      timeoutMs,
      message: () =>
        `views: ${agents
          .map(a => {
            const v = a.councils.get(id)
            return v === undefined ? 'none' : `${v.state}@${v.epoch}`
          })
          .join(' ')}\n${councilState(agents, id)}`
    }
  )
  return view as CouncilView
}

const full = (v: CouncilView): boolean => v.state === 'active' && v.roster.length === 3

describe('councils across restarts', () => {
  let sim: Sim
  let id: string
  beforeAll(async () => {
    sim = await Sim.start({ agents: 5, roles, overrides: FAST })
    await waitFor(() => sim.convergedCount() === 5, {
      timeoutMs: 60_000,
      message: () => `converged ${sim.convergedCount()}/5`
    })
    id = await (sim.agents[4] as Agent).councils.open({
      project: 'restarts',
      coreRoles: ['tpm', 'senior-software-architect'],
      optionalRoles: ['coder']
    })
    await agreed(sim.running, id, full)
  }, 90_000)
  afterAll(async () => {
    await sim?.stop()
  })

  it('every agent keeps its councils in the data dir, with its promise and the last commit', async () => {
    const view = await agreed(sim.running, id, full)
    // Written within a second of the commit (see `SAVE_DELAY_MS`).
    const saved = async (agent: Agent): Promise<SavedCouncil | undefined> =>
      savedCouncilsSchema
        .parse(JSON.parse(await readFile(join(agent.config.dataDir, councilDefaults.COUNCILS_FILE), 'utf8')))
        .councils.find(c => c.d.id === id)
    for (const agent of sim.running) {
      await waitFor(async () => (await saved(agent))?.lastCommit?.epoch === view.epoch, {
        timeoutMs: 5_000,
        message: `${agent.config.name} did not save epoch ${view.epoch}`
      })
      expect((await saved(agent))?.promised).toBeGreaterThanOrEqual(view.epoch)
    }
  })

  it('a rolling restart of every agent, one at a time, keeps the council known and agreed everywhere', async () => {
    for (let i = 0; i < 5; i++) {
      await sim.stopAgent(sim.agents[i] as Agent)
      const back = await sim.restart(i)
      // Restored from the data dir as the agent starts, before any peer could tell it.
      expect(back.councils.get(id)?.epoch, `agent ${i} after restart`).toBeGreaterThan(0)
      await agreed(sim.running, id, full)
    }
    // Every agent is counted among the members again.
    const view = await agreed(sim.running, id, v => full(v) && v.members.length === 5)
    for (const agent of sim.running) expect(agent.councils.get(id)?.roster).toEqual(view.roster)
  })

  it('a member that was down when its council was dissolved learns it, also after the agent that dissolved it restarted', async () => {
    const dissolver = sim.agents[4] as Agent
    const gone = await dissolver.councils.open({ project: 'gone', coreRoles: ['tpm', 'senior-software-architect'] })
    const view = await agreed(sim.running, gone, v => v.state === 'active' && v.roster.length === 2)
    const index = sim.agents.findIndex(a => a !== dissolver && view.members.includes(a.peerId))
    await sim.crashAgent(sim.agents[index] as Agent)
    await dissolver.councils.dissolve(gone)
    await waitFor(() => sim.running.every(a => a.councils.get(gone)?.state === 'dissolved'), {
      timeoutMs: 10_000,
      message: 'the dissolution did not reach the running agents'
    })
    const saved = async (): Promise<SavedCouncil | undefined> =>
      savedCouncilsSchema
        .parse(JSON.parse(await readFile(join(dissolver.config.dataDir, councilDefaults.COUNCILS_FILE), 'utf8')))
        .councils.find(c => c.d.id === gone)
    await waitFor(async () => (await saved())?.ended !== undefined, {
      timeoutMs: 5_000,
      message: 'the dissolution was not saved'
    })
    await sim.crashAgent(dissolver)
    await sim.restart(4)
    const back = await sim.restart(index)
    // It missed the end, and nobody but the agent that dissolved the council says so.
    expect(back.councils.get(gone)?.state).toMatch(/^(active|degraded)$/)
    await waitFor(() => back.councils.get(gone)?.state === 'dissolved', {
      timeoutMs: councilDefaults.ORPHANED_AFTER_MS + 30_000,
      message: () => `still ${back.councils.get(gone)?.state ?? 'unknown'}`
    })
  }, 90_000)
})

describe('a coordinator that lost its councils', () => {
  // Suspects stay alive for a minute here, so the coordinator's crash and quick return go
  // unnoticed: its peers keep waiting for it, and only the members' own announcement helps.
  let sim: Sim
  beforeAll(async () => {
    sim = await Sim.start({ agents: 5, roles, overrides: { ...FAST, deadAfterMs: 60_000 } })
    await waitFor(() => sim.convergedCount() === 5, {
      timeoutMs: 60_000,
      message: () => `converged ${sim.convergedCount()}/5`
    })
  }, 90_000)
  afterAll(async () => {
    await sim?.stop()
  })

  it('is still taken for the coordinator after an empty-data-dir restart, and learns the council from its members', async () => {
    const id = await (sim.agents[4] as Agent).councils.open({
      project: 'orphan',
      coreRoles: ['tpm', 'senior-software-architect'],
      optionalRoles: ['coder']
    })
    const before = await agreed(sim.running, id, full)
    const index = sim.agents.findIndex(a => a.peerId === before.coordinator)
    const coordinator = sim.agents[index] as Agent
    await sim.crashAgent(coordinator)
    await rm(join(coordinator.config.dataDir, councilDefaults.COUNCILS_FILE))
    const back = await sim.restart(index)
    expect(back.peerId).toBe(before.coordinator)
    expect(back.councils.get(id)).toBeUndefined()
    const after = await agreed(
      sim.running,
      id,
      v => full(v) && v.epoch >= before.epoch,
      councilDefaults.ORPHANED_AFTER_MS + 30_000
    )
    expect(back.councils.get(id)?.state).toBe('active')
    expect(after.roster.map(s => s.role)).toEqual(before.roster.map(s => s.role))
  }, 90_000)
})
