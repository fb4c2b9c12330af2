/**
 * Councils over gossip with real agents: formation at 34 agents, failover after a crash, a
 * graceful handover, failure and optional roles, concurrent councils, bad requests, a
 * coordinator lost during formation, and a singleton with three replicas.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Agent } from '../src/agent/index.js'
import { councilDefaults, rank, type CouncilView } from '../src/council/index.js'
import { Sim } from '../src/sim/index.js'
import { presenceMeshesConnected } from './helpers/mesh.js'
import { waitFor } from './helpers/wait.js'
import { councilState } from './helpers/council-state.js'
import { apiFetch } from './helpers/api.js'

const TPM = 'tpm'
const ARCH = 'senior-software-architect'
/** Agents 0-2 can be tpm, 3-5 architect, 6-9 coder, the rest testers and reviewers. */
const rolesOf = (i: number): string[] =>
  i < 3 ? [TPM] : i < 6 ? [ARCH] : i < 10 ? ['coder'] : [i % 2 === 0 ? 'tester' : 'reviewer']
const FAST = { heartbeatMs: 500, deadAfterMs: 1_500, pingTimeoutMs: 500 }

async function post(agent: Agent, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await apiFetch(agent, `${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body)
  })
  return { status: res.status, body: await res.json() }
}

/** Every agent in `agents` reports council `id` in `state` with one identical roster; returns it. */
async function agreed(
  agents: Agent[],
  id: string,
  state: CouncilView['state'],
  accept: (v: CouncilView) => boolean = () => true,
  timeoutMs = 20_000
): Promise<CouncilView> {
  let view: CouncilView | undefined
  await waitFor(
    () => {
      const views = agents.map(a => a.councils.get(id))
      const first = views[0]
      if (first === undefined || first.state !== state || !accept(first)) return false
      const same = views.every(
        v =>
          v !== undefined &&
          v.state === state &&
          v.epoch === first.epoch &&
          JSON.stringify(v.roster) === JSON.stringify(first.roster)
      )
      if (same) view = first
      return same
    },
    {
      timeoutMs,
      message: () =>
        `views of ${id}: ${agents
          .map(a => {
            const v = a.councils.get(id)
            return v === undefined ? 'none' : `${v.state}@${v.epoch}`
          })
          .join(' ')}\n${councilState(agents, id)}`
    }
  )
  return view as CouncilView
}

const holder = (v: CouncilView, role: string): string | undefined => v.roster.find(s => s.role === role)?.peerId

interface StreamTransport {
  send: (...args: unknown[]) => Promise<boolean>
  sendInTime: (peer: string, ack: unknown, via?: string) => Promise<boolean>
  relay: (peer: string, relayed: unknown) => Promise<boolean>
  sendCommit: (peers: string[], commit: { epoch: number }, waitMs: number) => Promise<number>
  connect: (peer: string) => void
}
/**
 * The stream transport of `agent`'s acks and commits (`CouncilStreams`), to intercept its sends or
 * send through it.
 */
function streamsOf(agent: Agent): StreamTransport {
  return (agent.councils as unknown as { streams: StreamTransport }).streams
}

interface Sent {
  type: string
  handover?: unknown
}
/** Show `watch` every council message `agent` publishes from now on; one it returns false for is dropped. */
function onSend(agent: Agent, watch: (m: Sent) => boolean | void): void {
  const councils = agent.councils as unknown as { send: (tenant: string, m: Sent) => Promise<void> }
  const send = councils.send.bind(agent.councils)
  councils.send = async (tenant, m) => {
    if (watch(m) !== false) await send(tenant, m)
  }
}

/** Show `watch` every save of `agent`'s councils from now on, once written (the latest epoch it holds, and whether synced to disk). */
function onSave(agent: Agent, watch: (epoch: number, durable: boolean) => void): void {
  const store = (
    agent.councils as unknown as {
      init: { store: { save: (councils: Array<{ lastCommit?: { epoch: number } }>, durable?: boolean) => void } }
    }
  ).init.store
  const save = store.save.bind(store)
  store.save = (councils, durable) => {
    save(councils, durable)
    watch(Math.max(0, ...councils.map(c => c.lastCommit?.epoch ?? 0)), durable === true)
  }
}

interface HandedCommit {
  epoch: number
  peers: string[]
  startedAfter: number
  endedAt?: number
  taken?: number
}
/**
 * Record every commit `agent` hands over streams from now on (`CouncilStreams.sendCommit`): to
 * whom, and in what order (`startedAfter` and `endedAt` count the sends begun and ended before).
 */
function onHandCommit(agent: Agent): HandedCommit[] {
  const streams = streamsOf(agent)
  const sendCommit = streams.sendCommit.bind(streams)
  const handed: HandedCommit[] = []
  let ended = 0
  streams.sendCommit = async (peers, commit, waitMs) => {
    const h: HandedCommit = { epoch: commit.epoch, peers, startedAfter: ended }
    handed.push(h)
    h.taken = await sendCommit(peers, commit, waitMs)
    h.endedAt = ++ended
    return h.taken
  }
  return handed
}

describe('a council of 34 agents', () => {
  let sim: Sim
  beforeAll(async () => {
    sim = await Sim.start({ agents: 34, roles: rolesOf, overrides: FAST })
    // Each agent is connected to a few others only: gossip reaches the rest through them.
    await waitFor(() => sim.convergedCount() === 34, {
      timeoutMs: 90_000,
      message: () => `converged ${sim.convergedCount()}/34`
    })
  }, 120_000)
  afterAll(async () => {
    await sim?.stop()
  })

  let id: string
  it('forms: every member reports the same active roster, core roles from their candidates', async () => {
    const res = await post(sim.agents[20] as Agent, '/v1/councils', {
      project: 'apollo',
      coreRoles: [TPM, ARCH],
      optionalRoles: ['coder']
    })
    expect(res.status).toBe(201)
    id = res.body.id
    // Optional seats may fill after activation (a claim that missed the window): wait for all three.
    // Later claimants join the members in later epochs: wait until all ten candidates count.
    const view = await agreed(sim.running, id, 'active', v => v.roster.length === 3 && v.members.length === 10)
    expect(view.epoch).toBeGreaterThanOrEqual(1)
    const index = (peer: string | undefined): number => sim.agents.findIndex(a => a.peerId === peer)
    expect(index(holder(view, TPM))).toBeLessThan(3)
    expect(index(holder(view, ARCH))).toBeGreaterThanOrEqual(3)
    expect(index(holder(view, ARCH))).toBeLessThan(6)
    expect(rolesOf(index(holder(view, 'coder')))).toEqual(['coder'])
    const api = (await (await apiFetch(sim.agents[33], `/v1/councils/${id}`)).json()) as CouncilView
    expect(api).toMatchObject({ id, project: 'apollo', state: 'active', epoch: view.epoch, roster: view.roster })
    expect(api.activatedAt).toBeGreaterThanOrEqual(api.createdAt)
  })

  it('a crashed core holder is replaced under a higher epoch, the same everywhere', async () => {
    const before = sim.agents[0]?.councils.get(id) as CouncilView
    const victim = sim.agents.find(a => a.peerId === holder(before, TPM)) as Agent
    await sim.crashAgent(victim)
    const after = await agreed(
      sim.running,
      id,
      'active',
      v => v.epoch > before.epoch && holder(v, TPM) !== victim.peerId,
      30_000
    )
    expect(holder(after, TPM)).toBeDefined()
    expect(holder(after, ARCH)).toBe(holder(before, ARCH))
  })

  it('a graceful leave hands the seat over', async () => {
    const before = sim.running[0]?.councils.get(id) as CouncilView
    const leaver = sim.agents.find(a => a.peerId === holder(before, ARCH)) as Agent
    await sim.stopAgent(leaver)
    const after = await agreed(
      sim.running,
      id,
      'active',
      v => v.epoch > before.epoch && holder(v, ARCH) !== leaver.peerId
    )
    expect(holder(after, ARCH)).toBeDefined()
  })

  it('concurrent councils from different openers form independently; an unfillable optional role stays empty', async () => {
    const [a, b] = await Promise.all([
      post(sim.running[10] as Agent, '/v1/councils', {
        project: 'one',
        coreRoles: ['coder'],
        optionalRoles: ['designer']
      }),
      post(sim.running[11] as Agent, '/v1/councils', {
        project: 'two',
        coreRoles: ['tester'],
        optionalRoles: ['reviewer']
      })
    ])
    const one = await agreed(sim.running, a.body.id, 'active')
    // An optional seat may be filled in a later epoch (a claim that missed the window): wait for it.
    const two = await agreed(sim.running, b.body.id, 'active', v => v.roster.length === 2)
    expect(two.roster.map(s => s.role).sort()).toEqual(['reviewer', 'tester'])
    // Nobody can be a designer: that seat stays empty, whatever later epochs commit.
    expect(one.roster.map(s => s.role)).toEqual(['coder'])
    expect(
      sim.running.every(x => JSON.stringify(x.councils.get(a.body.id)?.roster.map(s => s.role)) === '["coder"]')
    ).toBe(true)
  })

  it('fails, with the reason, when nobody can hold a core role', async () => {
    const res = await post(sim.running[12] as Agent, '/v1/councils', {
      project: 'doomed',
      coreRoles: ['astronaut'],
      claimWindowMs: 200
    })
    const view = await agreed(sim.running, res.body.id, 'failed')
    expect(view.reason).toMatch(/astronaut/)
  })

  it('refuses bad bodies with 400 naming the field, unknown councils with 404', async () => {
    const agent = sim.running[0] as Agent
    const cases: Array<[unknown, string]> = [
      [{ coreRoles: [TPM] }, 'project'],
      [{ project: 'x', coreRoles: [] }, 'coreRoles'],
      [{ project: 'x', coreRoles: ['Not A Role'] }, 'coreRoles.0'],
      [{ project: 'x', coreRoles: [TPM], claimWindowMs: -1 }, 'claimWindowMs'],
      [{ project: 'x', coreRoles: [TPM], optionalRoles: [TPM] }, 'optionalRoles'],
      [{ project: 'x', coreRoles: [TPM], extra: 1 }, 'body'],
      [{ project: 'x', coreRoles: [TPM], tenant: 'someone-else' }, 'tenant']
    ]
    for (const [body, field] of cases) {
      const res = await post(agent, '/v1/councils', body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(res.body.error, JSON.stringify(res.body)).toContain(field === 'body' ? 'extra' : field)
    }
    expect((await post(agent, '/v1/councils', 'not json')).status).toBe(400)
    expect((await apiFetch(agent, `/v1/councils/nope`)).status).toBe(404)
    expect((await apiFetch(agent, `/v1/councils/nope`, { method: 'DELETE' })).status).toBe(404)
  })

  it('a 20/14 partition: the side with a majority of the members fails over, the other commits nothing; healed, all converge', async () => {
    const before = sim.running[0]?.councils.get(id) as CouncilView
    const tpmHolder = holder(before, TPM) as string
    const seated = new Set(before.roster.map(s => s.peerId))
    // The minority: the tpm holder and non-members, 14 agents in all. (With a bare majority of
    // the members left, one member flapping under this machine's load stalled the majority in
    // CI: see the #4 note. Here the majority keeps all members but one.)
    const members = new Set(before.members)
    const cut = [
      ...sim.running.filter(a => a.peerId === tpmHolder),
      ...sim.running.filter(a => !members.has(a.peerId) && !seated.has(a.peerId))
    ].slice(0, 14)
    expect(cut).toHaveLength(14)
    const rest = sim.running.filter(a => !cut.includes(a))
    expect(cut.filter(a => members.has(a.peerId)).length * 2).toBeLessThan(members.size)
    const epochAtCut = Math.max(...sim.running.map(a => a.councils.get(id)?.epoch ?? 0))
    await sim.partition(cut)
    try {
      const after = await agreed(rest, id, 'active', v => v.epoch > epochAtCut && holder(v, TPM) !== tpmHolder, 30_000)
      expect(holder(after, TPM)).toBeDefined()
      for (const a of cut) expect(a.councils.get(id)?.epoch ?? 0).toBeLessThanOrEqual(epochAtCut)
    } finally {
      await sim.heal()
    }
    await agreed(sim.running, id, 'active', v => v.epoch > epochAtCut, 40_000)
  })

  it('DELETE dissolves a council for every member', async () => {
    // Settled first: members re-added after the partition may still be moving the epoch, and a
    // dissolution freezes each agent's view at the epoch it had.
    const settled = await agreed(sim.running, id, 'active')
    const res = await apiFetch(sim.running[5], `/v1/councils/${id}`, { method: 'DELETE' })
    expect(res.status).toBe(200)
    const dissolved = await agreed(sim.running, id, 'dissolved')
    expect(dissolved.epoch).toBeGreaterThanOrEqual(settled.epoch)
  })
})

describe('coordinator and singleton failures', () => {
  let sim: Sim | undefined
  afterEach(async () => {
    await sim?.stop()
    sim = undefined
  })

  /** `agents` agents whose views are full and whose presence meshes have formed (stopped after each test). */
  async function startSettled(agents: number): Promise<Sim> {
    const s = (sim = await Sim.start({ agents, roles: rolesOf, overrides: FAST }))
    await waitFor(() => s.convergedCount() === agents && presenceMeshesConnected(s.agents), {
      timeoutMs: 30_000,
      message: 'mesh did not settle'
    })
    return s
  }

  /**
   * Five settled agents whose tpm candidates (0-2, a tpm-only council's members) have no
   * connection to agent 4 (an architect, who opens it), and whose dials to it take `dialMs`.
   */
  async function cutOffFromOpener(dialMs: number): Promise<{ s: Sim; opener: Agent; members: Agent[] }> {
    const s = await startSettled(5)
    const opener = s.agents[4] as Agent
    const members = s.agents.slice(0, 3)
    for (const m of members) s.slowLink(m, opener, dialMs)
    // Hung up once every link is slow; a dial that passed the gater before that may still open a
    // connection afterwards: it is hung up too, until none is left.
    await waitFor(
      async () => {
        const open = members.filter(m => m.node.getConnections(opener.node.peerId).length > 0)
        await Promise.all(open.map(async m => await m.node.hangUp(opener.node.peerId)))
        return open.length === 0
      },
      { timeoutMs: 10_000, message: 'members still connected to the opener' }
    )
    return { s, opener, members }
  }

  /**
   * A tpm council of five settled agents, opened by agent 4 (an architect) which then leaves:
   * the first member in rank order coordinates, and it is also the one holding the seat (loads
   * are equal). `beforeOpen` runs once the agents settled, before the council is opened.
   */
  async function coordinatingHolder(
    project: string,
    beforeOpen?: (s: Sim) => void
  ): Promise<{ s: Sim; res: { body: any }; formed: CouncilView; ranked: string[]; leaver: Agent }> {
    const s = await startSettled(5)
    beforeOpen?.(s)
    const opener = s.agents[4] as Agent
    const res = await post(opener, '/v1/councils', { project, coreRoles: [TPM], claimWindowMs: 1_000 })
    const formed = await agreed(s.running, res.body.id, 'active')
    await s.stopAgent(opener)
    await waitFor(() => s.running.every(a => a.membership.stateOf(formed.tenant, opener.peerId) === 'left'), {
      timeoutMs: 10_000,
      message: "the opener's leave was not seen"
    })
    const ranked = [...formed.members].sort((a, b) => (rank(formed.id, a) < rank(formed.id, b) ? -1 : 1))
    const leaver = s.agents.find(a => a.peerId === holder(formed, TPM)) as Agent
    expect(ranked[0]).toBe(leaver.peerId)
    return { s, res, formed, ranked, leaver }
  }

  it('a coordinator killed during formation is replaced, and the council still forms', async () => {
    const s = await startSettled(8)
    const opener = s.agents[7] as Agent // a coder: not a candidate for the core roles
    // An optional role nobody holds keeps the opener from proposing before the claim window
    // ends, so it dies before its proposal: a proposal that reached a majority would commit
    // without it (members apply on acks), and nothing would need replacing.
    const res = await post(opener, '/v1/councils', {
      project: 'orphan',
      coreRoles: [TPM, ARCH],
      optionalRoles: ['designer'],
      claimWindowMs: 3_000
    })
    const others = s.agents.filter(a => a !== opener)
    await waitFor(() => others.every(a => a.councils.get(res.body.id) !== undefined), {
      timeoutMs: 2_500,
      message: 'open not heard'
    })
    await s.crashAgent(opener)
    const view = await agreed(s.running, res.body.id, 'active', () => true, 20_000)
    expect(view.coordinator).not.toBe(opener.peerId)
  })

  it("a coordinator that takes over gives a lost core seat to a standby whose claim never reached it: commits carry the members' claims", async () => {
    const s = await startSettled(8)
    const opener = s.agents[7] as Agent // a coder: neither a candidate nor a member
    const res = await post(opener, '/v1/councils', { project: 'standby', coreRoles: [TPM, ARCH] })
    const id: string = res.body.id
    const formed = await agreed(s.running, id, 'active', v => v.members.length === 6)
    // Every agent but the opener is put in the state it would be in had no claim reached it (a
    // claim that arrives before the open is not kept): it knows the standbys only from the commit.
    for (const a of s.agents.filter(x => x !== opener)) {
      const internals = a.councils as unknown as {
        councils: Map<string, { claims: Map<string, unknown>; lastCommit: unknown; coordinator: string }>
        apply: (c: unknown, commit: unknown, from: string) => void
      }
      const c = internals.councils.get(id)
      if (c === undefined) throw new Error(`${a.config.name} does not know the council`)
      c.claims.clear()
      internals.apply(c, c.lastCommit, c.coordinator)
    }
    // The coordinator and the tpm holder die together: a member that never heard a tpm claim coordinates.
    const tpm = holder(formed, TPM) as string
    await Promise.all([s.crashAgent(opener), s.crashAgent(s.agents.find(a => a.peerId === tpm) as Agent)])
    const after = await agreed(s.running, id, 'active', v => holder(v, TPM) !== undefined && holder(v, TPM) !== tpm)
    expect(after.coordinator).not.toBe(opener.peerId)
    expect(s.agents.findIndex(a => a.peerId === holder(after, TPM))).toBeLessThan(3)
    expect(holder(after, ARCH)).toBe(holder(formed, ARCH))
  })

  it("a graceful leave carries the leaver's own proposal of its successor roster, and that roster commits", async () => {
    const s = await startSettled(8)
    const res = await post(s.agents[7] as Agent, '/v1/councils', { project: 'handover', coreRoles: [TPM, ARCH] })
    const formed = await agreed(s.running, res.body.id, 'active', v => v.members.length === 6)
    const handovers: Array<{ roster: unknown; members: string[] }> = []
    for (const a of s.agents) {
      onSend(a, m => {
        if (m.type === 'resign' && m.handover !== undefined) {
          handovers.push(m.handover as { roster: unknown; members: string[] })
        }
      })
    }
    const leaver = s.agents.find(a => a.peerId === holder(formed, ARCH)) as Agent
    await s.stopAgent(leaver)
    const after = await agreed(
      s.running,
      res.body.id,
      'active',
      v => v.epoch > formed.epoch && holder(v, ARCH) !== undefined && holder(v, ARCH) !== leaver.peerId
    )
    // The coordinator may also see the leaver's presence `left` before its resignation and
    // propose on its own: it proposes the same roster, so what commits is the leaver's proposal.
    expect(handovers).toHaveLength(1)
    expect(after.roster).toEqual(handovers[0]?.roster)
    expect([...after.members].sort()).toEqual([...(handovers[0]?.members ?? [])].sort())
    expect(after.coordinator).toBe(formed.coordinator)
  })

  it("a coordinator connected to every member hands them its commit over streams before it gossips it, and the leaver its handover's commit after them: with its gossiped commits dropped, a handover still commits at every member, and at no other agent", async () => {
    const s = await startSettled(8)
    const opener = s.agents[7] as Agent
    const res = await post(opener, '/v1/councils', { project: 'direct-commit', coreRoles: [TPM, ARCH] })
    const id: string = res.body.id
    const formed = await agreed(s.running, id, 'active', v => v.members.length === 6)
    const members = s.agents.filter(a => formed.members.includes(a.peerId))
    // They dialled the coordinator for their acks of the formation.
    await waitFor(() => members.every(m => m.node.getConnections(opener.node.peerId).length > 0), {
      timeoutMs: 15_000,
      message: 'members not connected to the coordinator'
    })
    const dropped: string[] = []
    onSend(opener, m => {
      if (m.type !== 'commit') return
      dropped.push(m.type)
      return false
    })
    const handed = onHandCommit(opener)
    const leaver = members.find(a => a.peerId === holder(formed, ARCH)) as Agent
    await s.stopAgent(leaver)
    // Sooner than the coordinator's re-announcement (5 s, dropped too) or the members' own (15 s) could help.
    const after = await agreed(
      members.filter(m => m !== leaver),
      id,
      'active',
      v => v.epoch > formed.epoch && holder(v, ARCH) !== leaver.peerId,
      4_000
    )
    expect(after.coordinator).toBe(opener.peerId)
    expect(dropped.length).toBeGreaterThan(0)
    // The members first, each applying it before the send ends; the leaver, who stops once it has
    // the commit (its departure competes with the members' deliveries), only after them.
    await waitFor(() => handed.filter(h => h.epoch === after.epoch)[1]?.taken !== undefined, {
      timeoutMs: 2_000,
      message: 'the commit was not handed to the leaver'
    })
    const sends = handed.filter(h => h.epoch === after.epoch)
    expect(sends.map(h => [...h.peers].sort())).toEqual([
      after.members.filter(m => m !== opener.peerId).sort(),
      [leaver.peerId]
    ])
    expect(sends[0]?.taken).toBe(sends[0]?.peers.length)
    expect(sends[1]?.startedAfter).toBeGreaterThanOrEqual(sends[0]?.endedAt ?? Infinity)
    expect(sends[1]?.taken).toBe(1)
    // Agent 6 (a coder) is no member: only the gossip it never got would have told it.
    expect(s.agents[6]?.councils.get(id)?.epoch).toBe(formed.epoch)
  })

  it("a commit handed over a stream is taken only from the coordinator it names, and checked like a gossiped one: one without a majority's signatures is refused", async () => {
    const s = await startSettled(5)
    const opener = s.agents[4] as Agent
    const res = await post(opener, '/v1/councils', { project: 'forged-commit', coreRoles: [TPM], claimWindowMs: 1_000 })
    const id: string = res.body.id
    const formed = await agreed(s.running, id, 'active')
    const internals = opener.councils as unknown as {
      councils: Map<
        string,
        { lastCommit: { epoch: number; roster: Array<{ role: string; peerId: string; name: string }> } }
      >
    }
    const commit = internals.councils.get(id)?.lastCommit
    if (commit === undefined) throw new Error('the coordinator has no commit')
    // The next epoch with the seat moved to another member, under the old epoch's signatures.
    const other = formed.members.find(m => m !== holder(formed, TPM)) as string
    const forged = { ...commit, epoch: commit.epoch + 1, roster: [{ role: TPM, peerId: other, name: 'forged' }] }
    const target = s.agents.find(a => a.peerId === holder(formed, TPM)) as Agent
    const streams = streamsOf(opener)
    // Commits are handed over connections already open only.
    await opener.node.dial(target.node.peerId)
    expect(await streams.sendCommit([target.peerId], forged, 2_000)).toBe(0)
    expect(target.councils.get(id)?.epoch).toBe(formed.epoch)
    expect(holder(target.councils.get(id) as CouncilView, TPM)).toBe(target.peerId)
    // The real commit, handed over again, is taken (already applied: nothing changes), but only from the coordinator it names.
    expect(await streams.sendCommit([target.peerId], commit, 2_000)).toBe(1)
    const bystander = s.agents.find(a => a !== opener && a !== target) as Agent
    await bystander.node.dial(target.node.peerId)
    expect(await streamsOf(bystander).sendCommit([target.peerId], commit, 2_000)).toBe(0)
  })

  it('a standby stopping gracefully is removed by the coordinator in a membership epoch: its resignation proposes nothing', async () => {
    const s = await startSettled(8)
    const res = await post(s.agents[7] as Agent, '/v1/councils', { project: 'standby-leaves', coreRoles: [TPM, ARCH] })
    const formed = await agreed(s.running, res.body.id, 'active', v => v.members.length === 6)
    const proposals: string[] = []
    const handovers: string[] = []
    for (const a of s.agents) {
      onSend(a, m => {
        if (m.type === 'propose') proposals.push(a.config.name)
        if (m.type === 'resign' && m.handover !== undefined) handovers.push(a.config.name)
      })
    }
    const standby = s.agents.find(
      a => formed.members.includes(a.peerId) && !formed.roster.some(seat => seat.peerId === a.peerId)
    ) as Agent
    await s.stopAgent(standby)
    const after = await agreed(
      s.running,
      res.body.id,
      'active',
      v => v.epoch > formed.epoch && !v.members.includes(standby.peerId)
    )
    expect(after.roster).toEqual(formed.roster)
    expect(handovers).toEqual([])
    expect(proposals).toEqual(['agent-7'])
  })

  it('acks the coordinator cannot take directly are gossiped, and agents apply a roster a majority acknowledged without waiting for the commit (here the coordinator never sends it), also one that hears the acks before the proposal', async () => {
    const s = await startSettled(8)
    const opener = s.agents[7] as Agent
    // The coordinator takes no direct acks (an agent of an earlier version, say): members gossip them.
    await opener.node.unhandle(councilDefaults.ACK_PROTOCOL)
    // Every commit (and re-announcement of it) the coordinator publishes is dropped.
    const dropped: string[] = []
    onSend(opener, m => {
      if (m.type !== 'commit') return
      dropped.push(m.type)
      return false
    })
    // Agent 6 (a coder, no member) handles the proposal, which is what describes the council to
    // it, only after the acks have reached it: it must keep the acks of a council it never heard of.
    const late = s.agents[6]?.councils as unknown as { onPropose: (...args: unknown[]) => Promise<unknown> }
    const onPropose = late.onPropose.bind(late)
    late.onPropose = async (...args) => {
      await new Promise(resolve => setTimeout(resolve, 1_000))
      return await onPropose(...args)
    }
    const res = await post(opener, '/v1/councils', {
      project: 'no-commit',
      coreRoles: [TPM, ARCH],
      claimWindowMs: 1_000
    })
    // Sooner than the coordinator's re-announcement (5 s) or the members' own (15 s) could help.
    const view = await agreed(s.running, res.body.id, 'active', () => true, 4_000)
    expect(view.coordinator).toBe(opener.peerId)
    expect(dropped.length).toBeGreaterThan(0)
  })

  it("a member's promise is on disk, synced, before its acknowledgement leaves", async () => {
    const s = await startSettled(5)
    const events: string[] = []
    const members = s.agents.slice(0, 3)
    for (const m of members) {
      onSave(m, (_epoch, durable) => {
        if (durable) events.push(`${m.config.name}:synced`)
      })
      const acks = streamsOf(m)
      const sendInTime = acks.sendInTime.bind(acks)
      acks.sendInTime = async (...args) => {
        events.push(`${m.config.name}:ack`)
        return await sendInTime(...args)
      }
    }
    const res = await post(s.agents[4] as Agent, '/v1/councils', {
      project: 'durable',
      coreRoles: [TPM],
      claimWindowMs: 1_000
    })
    await agreed(s.running, res.body.id, 'active')
    for (const m of members) {
      const own = events.filter(e => e.startsWith(`${m.config.name}:`))
      expect(own[0], events.join(' ')).toBe(`${m.config.name}:synced`)
      expect(own).toContain(`${m.config.name}:ack`)
    }
  })

  it('an agent saves what it only learns (a proposal, a commit) in one write a moment later, and a coordinator its commit before it leaves', async () => {
    const s = await startSettled(5)
    const events: string[] = []
    const watchSaves = (a: Agent): void => {
      onSave(a, epoch => {
        events.push(`${a.config.name}:saved@${epoch}`)
      })
    }
    // Agent 3 (an architect) is no member of a tpm council; agent 4 opens and coordinates it.
    const [bystander, opener] = [s.agents[3] as Agent, s.agents[4] as Agent]
    watchSaves(bystander)
    watchSaves(opener)
    onSend(opener, m => {
      if (m.type === 'commit') events.push('agent-4:commit-sent')
    })
    const res = await post(opener, '/v1/councils', { project: 'saves', coreRoles: [TPM], claimWindowMs: 1_000 })
    await agreed(s.running, res.body.id, 'active')
    await waitFor(() => events.includes('agent-3:saved@1') && events.includes('agent-4:commit-sent'), {
      timeoutMs: 5_000,
      message: () => events.join(' ')
    })
    // The bystander heard the proposal and the commit, and wrote once.
    expect(events.filter(e => e.startsWith('agent-3:'))).toEqual(['agent-3:saved@1'])
    const own = events.filter(e => e.startsWith('agent-4:'))
    expect(own.indexOf('agent-4:saved@1'), own.join(' ')).toBeGreaterThanOrEqual(0)
    expect(own.indexOf('agent-4:saved@1')).toBeLessThan(own.indexOf('agent-4:commit-sent'))
  })

  it('members send their acks to the coordinator directly, never to the whole tenant: at formation, and at a handover whose leaver coordinates, which commits it itself and hands the commit to the members', async () => {
    const gossiped: string[] = []
    const { s, res, formed, ranked, leaver } = await coordinatingHolder('direct', s => {
      for (const a of s.agents) {
        onSend(a, m => {
          if (m.type === 'ack') gossiped.push(a.config.name)
        })
      }
    })
    // Its handover's acks go to it.
    // The third member's ack is lost: the handover commits only if the successor's ack reached
    // the leaver (with the leaver's own, a majority of three).
    const third = s.agents.find(a => a.peerId === ranked[2]) as Agent
    streamsOf(third).send = async () => true
    const handed = onHandCommit(leaver)
    // Whom the third member connects to as it applies a commit.
    const connects: string[] = []
    const thirdStreams = streamsOf(third)
    const connect = thirdStreams.connect.bind(thirdStreams)
    thirdStreams.connect = peer => {
      connects.push(peer)
      connect(peer)
    }
    await s.stopAgent(leaver)
    const after = await agreed(
      s.running,
      res.body.id,
      'active',
      v => v.epoch > formed.epoch && holder(v, TPM) !== leaver.peerId,
      10_000
    )
    // The handover's own epoch, not a later proposal of the successor's after it timed out.
    expect(after.epoch).toBe(formed.epoch + 1)
    expect(holder(after, TPM)).toBe(ranked[1])
    expect(gossiped).toEqual([])
    // Committed by the leaver, before its stop returned: both members took it from its hands.
    expect(handed.filter(h => h.epoch === after.epoch).map(h => [[...h.peers].sort(), h.taken])).toEqual([
      [[ranked[1], ranked[2]].sort(), 2]
    ])
    // The successor coordinates from here on, in every member's view, and the third member
    // makes sure it has a connection to it for the next round.
    expect(
      s.running.filter(a => after.members.includes(a.peerId)).map(a => a.councils.get(res.body.id)?.coordinator)
    ).toEqual([ranked[1], ranked[1]])
    expect(connects).toEqual([ranked[1]])
    await waitFor(() => third.node.getConnections(peerIdFromString(ranked[1] as string)).length > 0, {
      timeoutMs: 5_000,
      message: 'the third member is not connected to its coordinator'
    })
  })

  it('a coordinating leaver whose commit never gets out: its successor holds the handover as its pending proposal, and proposes afresh only once that timed out', async () => {
    const { s, res, formed, ranked, leaver } = await coordinatingHolder('lost-handover')
    const id: string = res.body.id
    // The leaver commits its handover, but the commit goes nowhere.
    ;(leaver.councils as unknown as { publishCommit: () => Promise<void> }).publishCommit = async () => {}
    const successor = s.agents.find(a => a.peerId === ranked[1]) as Agent
    const proposed: number[] = []
    onSend(successor, m => {
      if (m.type === 'propose') proposed.push((m as unknown as { epoch: number }).epoch)
    })
    await s.stopAgent(leaver)
    const after = await agreed(
      s.running,
      id,
      'active',
      v => v.epoch > formed.epoch && holder(v, TPM) !== leaver.peerId,
      15_000
    )
    expect(holder(after, TPM)).toBe(successor.peerId)
    expect(after.coordinator).toBe(successor.peerId)
    // One proposal of its own, above the handover's epoch (which the members promised).
    expect(proposed).toEqual([formed.epoch + 2])
    expect(after.epoch).toBe(formed.epoch + 2)
  })

  it('a graceful stop leaves the mesh only once its handover committed, and one whose commit never comes still stops', async () => {
    const s = await startSettled(5)
    // Opened by an architect: the tpm candidates 0-2 are the members, the opener coordinates.
    const opener = s.agents[4] as Agent
    const res = await post(opener, '/v1/councils', { project: 'hand-first', coreRoles: [TPM], claimWindowMs: 1_000 })
    const formed = await agreed(s.running, res.body.id, 'active')
    // The coordinator's commits go out late (a busy coordinator), then not at all.
    let commits: 'late' | 'lost' = 'late'
    const councils = opener.councils as unknown as { send: (tenant: string, m: Sent) => Promise<void> }
    const send = councils.send.bind(opener.councils)
    councils.send = async (tenant, m) => {
      if (m.type !== 'commit') return await send(tenant, m)
      if (commits === 'lost') return
      await new Promise(resolve => setTimeout(resolve, 300))
      await send(tenant, m)
    }
    // The epoch each leaver holds when it announces its leave.
    const epochAtLeave = (a: Agent): (() => number | undefined) => {
      let epoch: number | undefined
      const leave = a.membership.leave.bind(a.membership)
      a.membership.leave = async () => {
        epoch = a.councils.get(res.body.id)?.epoch
        await leave()
      }
      return () => epoch
    }
    const first = s.agents.find(a => a.peerId === holder(formed, TPM)) as Agent
    const firstEpoch = epochAtLeave(first)
    await s.stopAgent(first)
    expect(firstEpoch()).toBeGreaterThan(formed.epoch)
    const after = await agreed(
      s.running,
      res.body.id,
      'active',
      v => v.epoch > formed.epoch && holder(v, TPM) !== first.peerId
    )

    commits = 'lost'
    // Nor over a stream of its own (the leaver is among the members the coordinator hands commits to).
    streamsOf(opener).sendCommit = async () => 0
    const second = s.agents.find(a => a.peerId === holder(after, TPM)) as Agent
    const secondEpoch = epochAtLeave(second)
    await s.stopAgent(second)
    expect(secondEpoch()).toBe(after.epoch)
  })

  it('an ack whose direct send hangs (a dial to a busy coordinator) is gossiped as well, and the council still forms; the member passes the proposal on without waiting for its ack', async () => {
    const s = await startSettled(5)
    // Every member's direct sends hang: only the gossiped copies can reach the coordinator.
    for (const a of s.agents.slice(0, 3)) streamsOf(a).send = async () => await new Promise<boolean>(() => {})
    // In order, per member: its validation of the proposal returned (gossipsub relays it then),
    // and its ack was gossiped (after the hedge).
    const events: string[] = []
    for (const a of s.agents) {
      onSend(a, m => {
        if (m.type === 'ack') events.push(`${a.config.name}:ack gossiped`)
      })
    }
    for (const a of s.agents.slice(0, 3)) {
      const councils = a.councils as unknown as { onPropose: (...args: unknown[]) => Promise<unknown> }
      const onPropose = councils.onPropose.bind(a.councils)
      councils.onPropose = async (...args) => {
        const verdict = await onPropose(...args)
        events.push(`${a.config.name}:proposal validated`)
        return verdict
      }
    }
    const res = await post(s.agents[4] as Agent, '/v1/councils', {
      project: 'hedged',
      coreRoles: [TPM],
      claimWindowMs: 1_000
    })
    await agreed(s.running, res.body.id, 'active', () => true, 10_000)
    const gossiped = events.filter(e => e.endsWith(':ack gossiped'))
    expect(gossiped.length).toBeGreaterThanOrEqual(2)
    for (const e of gossiped) {
      expect(events.indexOf(e.replace(':ack gossiped', ':proposal validated'))).toBeLessThan(events.indexOf(e))
    }
  })

  it("an ack still on its way when the hedge runs out is not gossiped once its member applied that epoch: the others' acks made the commit", async () => {
    const s = await startSettled(5)
    const [late, ...others] = s.agents.slice(0, 3) as [Agent, ...Agent[]]
    // The late member's direct send outlasts the hedge, which runs out only once the member holds
    // the epoch its ack is for: the other two members' acks (a majority of three) committed it.
    let hedged = 0
    streamsOf(late).sendInTime = async (_peer, ack) => {
      const { id, epoch } = ack as { id: string; epoch: number }
      await waitFor(() => (late.councils.get(id)?.epoch ?? 0) >= epoch, {
        timeoutMs: 10_000,
        message: 'the late member did not apply the epoch it acknowledged'
      })
      hedged++
      return false
    }
    const gossiped: string[] = []
    for (const a of s.agents) {
      onSend(a, m => {
        if (m.type === 'ack') gossiped.push(a.config.name)
      })
    }
    // When the late member's acknowledgement ended (its gossiped copy, if any, was sent by then).
    let acknowledged = 0
    const councils = late.councils as unknown as { acknowledge: (...args: unknown[]) => Promise<void> }
    const acknowledge = councils.acknowledge.bind(late.councils)
    councils.acknowledge = async (...args) => {
      await acknowledge(...args)
      acknowledged++
    }
    const res = await post(s.agents[4] as Agent, '/v1/councils', {
      project: 'moot-ack',
      coreRoles: [TPM],
      claimWindowMs: 1_000
    })
    const formed = await agreed(s.running, res.body.id, 'active', () => true, 10_000)
    expect(formed.members).toContain(late.peerId)
    await waitFor(() => hedged >= 1 && acknowledged >= hedged, {
      timeoutMs: 10_000,
      message: () => `hedges run out ${hedged}, acknowledgements ended ${acknowledged}`
    })
    expect(others.map(o => formed.members.includes(o.peerId))).toEqual([true, true])
    expect(gossiped).toEqual([])
  })

  it("an ack whose dial to the coordinator takes over a second still arrives directly: the dial is not cut short with the ack's own 1 s", async () => {
    // Dials between the members and the coordinator take 2.5 s (a loaded process accepts late),
    // and none is connected to it when the council opens.
    const { s, opener, members } = await cutOffFromOpener(2_500)
    const sent: boolean[] = []
    for (const m of members) {
      const acks = streamsOf(m)
      const send = acks.send.bind(acks)
      acks.send = async (...args) => {
        const ok = await send(...args)
        sent.push(ok)
        return ok
      }
    }
    const res = await post(opener, '/v1/councils', { project: 'slow-dial', coreRoles: [TPM], claimWindowMs: 1_000 })
    // Formed meanwhile (acks relayed back the proposal's path, or gossiped after the hedge), and
    // then every direct send landed.
    await agreed(s.running, res.body.id, 'active', () => true, 10_000)
    await waitFor(() => sent.length >= members.length, {
      timeoutMs: 10_000,
      message: () => `direct sends settled: ${sent.length}/${members.length}`
    })
    // (A member may ack a later proposal too, over the connection its first ack dialled.)
    expect(sent.filter(ok => !ok)).toEqual([])
    for (const m of members) expect(m.node.getConnections(opener.node.peerId).length).toBeGreaterThan(0)
  })

  it("an ack for a coordinator its member has no connection to goes back along the proposal's path over open connections: nothing is gossiped, no dial is waited for, and relays pass on only acks of proposals they saw", async () => {
    // No member is connected to the coordinator, and a dial to it takes 10 s: the proposal reaches
    // them through agent 3, and their acks can only go back that way.
    const { s, opener, members } = await cutOffFromOpener(10_000)
    const gossiped: string[] = []
    for (const a of s.agents) {
      onSend(a, m => {
        if (m.type === 'ack') gossiped.push(a.config.name)
      })
    }
    const res = await post(opener, '/v1/councils', { project: 'relayed', coreRoles: [TPM], claimWindowMs: 1_000 })
    await agreed(s.running, res.body.id, 'active', () => true, 8_000)
    expect(gossiped).toEqual([])
    for (const m of members) expect(m.node.getConnections(opener.node.peerId).length, m.config.name).toBe(0)
    // An ack of a proposal agent 3 never saw is not passed on.
    const forged = {
      type: 'relayed-ack',
      to: opener.peerId,
      signer: (members[1] as Agent).peerId,
      hops: 1,
      ack: { type: 'ack', id: res.body.id, epoch: 99, digest: 'unseen', sig: 'c2ln' }
    }
    expect(await streamsOf(members[0] as Agent).relay((s.agents[3] as Agent).peerId, forged)).toBe(false)
  })

  it("a relayed ack counts at the coordinator only under its signer's own signature", async () => {
    const s = await startSettled(5)
    const opener = s.agents[4] as Agent
    const [first, second, third] = s.agents as [Agent, Agent, Agent]
    // The acks of two of the three members are held back here: one real ack is short of a majority.
    const held = new Map<string, unknown>()
    for (const m of [second, third]) {
      streamsOf(m).sendInTime = async (_peer, ack) => {
        if (!held.has(m.peerId)) held.set(m.peerId, ack)
        return true
      }
    }
    const res = await post(opener, '/v1/councils', { project: 'forged', coreRoles: [TPM], claimWindowMs: 1_000 })
    await waitFor(() => held.size === 2, { timeoutMs: 10_000, message: 'the held acks were not made' })
    const relay = async (relayed: unknown): Promise<boolean> =>
      await streamsOf(s.agents[3] as Agent).relay(opener.peerId, relayed)
    // The second member's signature passed off as the third's: refused, and nothing commits.
    expect(
      await relay({
        type: 'relayed-ack',
        to: opener.peerId,
        signer: third.peerId,
        hops: 1,
        ack: held.get(second.peerId)
      })
    ).toBe(false)
    expect(opener.councils.get(res.body.id)?.state).toBe('forming')
    expect(first.councils.get(res.body.id)?.state).toBe('forming')
    // The same ack under its own signer: a majority, and the council forms.
    expect(
      await relay({
        type: 'relayed-ack',
        to: opener.peerId,
        signer: second.peerId,
        hops: 1,
        ack: held.get(second.peerId)
      })
    ).toBe(true)
    await agreed(s.running, res.body.id, 'active', () => true, 10_000)
  })

  it('an opener whose presence view names a candidate for every role proposes at once: no open, no claims, one proposal, one commit', async () => {
    const s = await startSettled(5)
    const sent: string[] = []
    for (const a of s.agents) {
      onSend(a, m => {
        sent.push(`${a.config.name}:${m.type}`)
      })
    }
    const res = await post(s.agents[4] as Agent, '/v1/councils', {
      project: 'once',
      coreRoles: [TPM],
      claimWindowMs: 1_000
    })
    const view = await agreed(s.running, res.body.id, 'active')
    // Well before the 5 s re-announcement: the three tpm candidates were counted from their
    // presence records, so nobody needed an open to claim on.
    expect(sent.filter(m => /:(open|claim|propose|commit)$/.test(m))).toEqual(['agent-4:propose', 'agent-4:commit'])
    expect([...view.members].sort()).toEqual(
      s.agents
        .slice(0, 3)
        .map(a => a.peerId)
        .sort()
    )
  })

  it("a candidate missing from the opener's presence view claims when the proposal leaves it out, and joins the members", async () => {
    const s = await startSettled(5)
    const opener = s.agents[4] as Agent
    const missed = (s.agents[2] as Agent).peerId
    // The opener's view lacks agent 2 (it joined a moment ago, say).
    const withRoles = opener.membership.withRoles.bind(opener.membership)
    opener.membership.withRoles = (t, r) => withRoles(t, r).filter(h => h.peerId !== missed)
    const res = await post(opener, '/v1/councils', { project: 'missed', coreRoles: [TPM] })
    const view = await agreed(s.running, res.body.id, 'active', v => v.members.includes(missed))
    expect(view.members).toHaveLength(3)
  })

  it("an end a member missed reaches it again: the agent that ended the council answers the member's stale announcement", async () => {
    const s = await startSettled(5)
    const res = await post(s.agents[4] as Agent, '/v1/councils', { project: 'ends', coreRoles: [TPM] })
    await agreed(s.running, res.body.id, 'active')
    // Agent 1 loses the first end it hears (lost gossip, a reconnect).
    const member = s.agents[1] as Agent
    const councils = member.councils as unknown as { end: (...args: unknown[]) => void }
    const end = councils.end.bind(member.councils)
    let lost = 0
    councils.end = (...args) => {
      if (lost++ === 0) return
      end(...args)
    }
    expect((await apiFetch(s.agents[4], `/v1/councils/${res.body.id}`, { method: 'DELETE' })).status).toBe(200)
    // The member announces the commit it holds once nobody has for 15 s (an orphaned council);
    // the agent that dissolved it answers with the end.
    await agreed(s.running, res.body.id, 'dissolved', () => true, 25_000)
    expect(lost).toBeGreaterThan(1)
  })

  it('a coordinator announces a commit again ever further apart, and its members, expecting that, never take the council for orphaned', async () => {
    const s = await startSettled(5)
    // Announcements from 500 ms after the commit, at most 2 s apart (5 s and 60 s by default).
    for (const a of s.agents) Object.assign(a.councils, { reannounceMs: 500, maxReannounceMs: 2_000 })
    const opener = s.agents[4] as Agent
    const res = await post(opener, '/v1/councils', { project: 'thinning', coreRoles: [TPM], claimWindowMs: 1_000 })
    const formed = await agreed(s.running, res.body.id, 'active')
    expect(formed.coordinator).toBe(opener.peerId)
    const committedAt =
      (opener.councils as unknown as { councils: Map<string, { lastCommitAt: number }> }).councils.get(res.body.id)
        ?.lastCommitAt ?? NaN
    const announced: number[] = []
    onSend(opener, m => {
      if (m.type === 'commit') announced.push(Date.now())
    })
    const fromMembers: string[] = []
    for (const m of s.agents.slice(0, 4)) {
      onSend(m, msg => {
        if (msg.type === 'commit') fromMembers.push(m.config.name)
      })
    }
    // About 10 s of announcements, 1 s apart at first (no agent announces a council more than
    // once a second), then 1.5 and 2 s: at the fixed 500 ms interval, 1 s apart throughout.
    await waitFor(() => announced.length >= 8, {
      timeoutMs: 30_000,
      message: () => `announcements at ${announced.map(t => t - committedAt).join(', ')} ms after the commit`
    })
    // None came before it was due: half the commit's age at the previous one, at least 500 ms, at most 2 s.
    const gaps = announced.slice(1).map((t, i) => ({
      gap: t - (announced[i] as number),
      due: Math.min(2_000, Math.max(500, ((announced[i] as number) - committedAt) / 2))
    }))
    for (const { gap, due } of gaps) expect(gap, JSON.stringify(gaps)).toBeGreaterThanOrEqual(due - 5)
    expect(gaps.at(-1)?.due).toBe(2_000)
    // Members wait three of the intervals they expect: none took the council for orphaned.
    expect(fromMembers).toEqual([])
  }, 60_000)

  it('an agent that learns a commit from a member other than its coordinator takes the coordinator the commit names, as every other agent does', async () => {
    const s = await startSettled(5)
    // Opened by an architect: the tpm candidates 0-2 are the members, the opener coordinates.
    const opener = s.agents[4] as Agent
    const res = await post(opener, '/v1/councils', { project: 'named', coreRoles: [TPM], claimWindowMs: 1_000 })
    const formed = await agreed(s.running, res.body.id, 'active')
    expect(formed.coordinator).toBe(opener.peerId)
    // The coordinator's re-announcements are lost from now on: a newcomer hears the commit only
    // from a member, once the members take the council for orphaned (15 s without one).
    let dropped = 0
    onSend(opener, m => {
      if (m.type !== 'commit') return
      dropped++
      return false
    })
    // After the first lost re-announcement (5 s on) the original commit has also left gossipsub's
    // message cache, which would otherwise hand it to the newcomer from its publisher.
    await waitFor(() => dropped > 0, { timeoutMs: 10_000, message: 'the coordinator did not re-announce' })
    const [late] = (await s.add(1)) as [Agent]
    await agreed(s.running, res.body.id, 'active', () => true, 25_000)
    expect(late.councils.get(res.body.id)?.epoch).toBe(formed.epoch)
    // Taking the announcer for the coordinator would leave this agent waiting on a member that
    // does not coordinate (and, were it the coordinator's successor, each on the other).
    expect(s.running.map(a => a.councils.get(res.body.id)?.coordinator)).toEqual(s.running.map(() => opener.peerId))
  }, 40_000)

  it('a singleton with three replicas has exactly one leader, and exactly one new one after the leader is killed', async () => {
    const s = (sim = await Sim.start({
      agents: 5,
      overrides: FAST,
      overridesFor: i => (i < 3 ? { singletons: ['scheduler'] } : {})
    }))
    await waitFor(() => s.convergedCount() === 5, { timeoutMs: 30_000, message: 'mesh did not settle' })
    const leaderOf = (a: Agent): string | undefined => a.councils.leaders().scheduler?.peerId
    await waitFor(
      () => s.running.every(a => leaderOf(a) !== undefined && leaderOf(a) === leaderOf(s.agents[0] as Agent)),
      { timeoutMs: 20_000, message: () => s.running.map(leaderOf).join(',') }
    )
    const first = leaderOf(s.agents[0] as Agent) as string
    expect(s.agents.slice(0, 3).map(a => a.peerId)).toContain(first)
    const epoch = s.agents[0]?.councils.leaders().scheduler?.epoch ?? 0
    const res = (await (await apiFetch(s.agents[4], `/v1/leaders`)).json()) as Record<
      string,
      { peerId: string; epoch: number }
    >
    expect(res.scheduler).toEqual({ peerId: first, epoch })

    await s.crashAgent(s.agents.find(a => a.peerId === first) as Agent)
    await waitFor(
      () =>
        s.running.every(
          a => leaderOf(a) !== undefined && leaderOf(a) !== first && leaderOf(a) === leaderOf(s.running[0] as Agent)
        ),
      { timeoutMs: 20_000, message: () => s.running.map(leaderOf).join(',') }
    )
    const second = s.running.map(a => a.councils.leaders().scheduler)
    expect(new Set(second.map(l => l?.peerId)).size).toBe(1)
    expect(second[0]?.epoch).toBeGreaterThan(epoch)
  })
})
