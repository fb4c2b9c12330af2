/**
 * The council core with explicit clock values: no timers, no network. A tiny pump carries the
 * effects of one core to the others at the instant given.
 */
import { describe, expect, it } from 'vitest'
import { CouncilCore, digestOf, type Commit, type Effect, type Proposal } from '../../src/council/core/index.js'
import type { Descriptor } from '../../src/council/index.js'

const d: Descriptor = {
  id: 'c-unit',
  tenant: 'default',
  project: 'unit',
  coreRoles: ['tpm', 'coder'],
  optionalRoles: ['tester'],
  claimWindowMs: 2_000,
  ttlMs: 1_000_000,
  maxRolesPerAgent: 1,
  createdAt: 0,
  opener: 'a'
}

const ROLES: Record<string, string[]> = { a: ['tpm'], b: ['coder'], c: ['tester'] }

class Cluster {
  readonly cores = new Map<string, CouncilCore>()
  readonly dead = new Set<string>()
  readonly log: Array<{ at: string; effect: Effect }> = []

  constructor(ids: string[], descriptor = d, roles = ROLES) {
    for (const id of ids) {
      this.cores.set(
        id,
        new CouncilCore({
          self: id,
          name: id,
          roles: roles[id] ?? [],
          descriptor,
          membership: { alive: peer => this.cores.has(peer) && !this.dead.has(peer) }
        })
      )
    }
  }

  core(id: string): CouncilCore {
    const c = this.cores.get(id)
    if (c === undefined) throw new RangeError(id)
    return c
  }

  /** Step `id` and deliver everything that follows, breadth first, at `now`. */
  step(id: string, input: Parameters<CouncilCore['step']>[0], now: number): void {
    const queue: Array<[string, Parameters<CouncilCore['step']>[0]]> = [[id, input]]
    for (let i = 0; i < queue.length; i++) {
      const [at, inp] = queue[i] as [string, Parameters<CouncilCore['step']>[0]]
      if (this.dead.has(at)) continue
      for (const effect of this.core(at).step(inp, now)) {
        this.log.push({ at, effect })
        if (effect.type === 'publish') {
          for (const other of this.cores.keys()) {
            if (other !== at) queue.push([other, { type: 'message', from: at, message: effect.message }])
          }
        } else if (effect.type === 'send') {
          queue.push([effect.to, { type: 'message', from: at, message: effect.message }])
        }
      }
    }
  }

  startAll(now: number): void {
    for (const id of this.cores.keys()) this.step(id, { type: 'start' }, now)
  }
}

const proposal = (epoch: number, base: string[], coordinator = 'x'): Proposal => ({
  epoch,
  roster: [{ role: 'tpm', peerId: 'a', name: 'a' }],
  members: base,
  base,
  claims: [],
  coordinator
})

describe('council core', () => {
  it('forms: claims, then at the end of the gathering one proposal, acks and a commit every core applies', () => {
    const cl = new Cluster(['a', 'b', 'c'])
    cl.startAll(0)
    // Every core role has a claimant, but the gathering lasts 150 ms: nothing is proposed before.
    expect(cl.log.some(l => l.effect.type === 'publish' && l.effect.message.type === 'propose')).toBe(false)
    cl.step('a', { type: 'tick' }, 100)
    expect(cl.core('a').epoch).toBe(0)
    cl.step('a', { type: 'tick' }, 150)
    for (const id of ['a', 'b', 'c']) {
      const c = cl.core(id)
      expect(c.epoch, id).toBe(1)
      expect(c.state, id).toBe('active')
      expect(c.roster.map(s => `${s.role}=${s.peerId}`)).toEqual(['tpm=a', 'coder=b', 'tester=c'])
      expect(c.coordinator).toBe('a')
    }
    // One proposal, one commit, each member's ack persisted durably before it left.
    const published = cl.log.filter(l => l.effect.type === 'publish').map(l => l.effect)
    expect(published.filter(e => e.type === 'publish' && e.message.type === 'propose')).toHaveLength(1)
    expect(published.filter(e => e.type === 'publish' && e.message.type === 'commit')).toHaveLength(1)
    for (const id of ['b', 'c']) {
      const mine = cl.log.filter(l => l.at === id).map(l => l.effect.type)
      expect(mine.indexOf('persist'), id).toBeLessThan(mine.indexOf('send'))
    }
  })

  it('acknowledges only above its promise, nacks the rest, and keeps the promise across a restart', () => {
    const c = new CouncilCore({ self: 'm', name: 'm', roles: [], descriptor: d, membership: { alive: () => true } })
    c.step({ type: 'start' }, 0)
    const ack = (p: Proposal, now: number): Effect[] =>
      c.step({ type: 'message', from: 'x', message: { type: 'propose', proposal: p } }, now)
    const first = ack(proposal(5, ['m', 'x', 'y']), 10)
    expect(first.map(e => e.type)).toEqual(['persist', 'acked', 'send'])
    expect(first[0]).toMatchObject({ type: 'persist', durable: true, state: { promised: 5 } })
    // The same epoch again (another proposal), and a lower one: refused with the promise.
    for (const [epoch, now] of [
      [5, 20],
      [4, 30]
    ] as const) {
      const out = ack({ ...proposal(epoch, ['m', 'x', 'y']), roster: [] }, now)
      expect(out).toEqual([{ type: 'send', to: 'x', message: { type: 'nack', promised: 5 } }])
    }
    // Not in the base: neither ack nor nack.
    expect(ack(proposal(9, ['x', 'y']), 40)).toEqual([])
    // Restarted from what it persisted: epoch 5 is still refused.
    const restarted = (bugs = {}): CouncilCore => {
      const core = new CouncilCore(
        {
          self: 'm',
          name: 'm',
          roles: [],
          descriptor: d,
          membership: { alive: () => true },
          persisted: { promised: 5, proposed: 0 }
        },
        {},
        bugs
      )
      core.step({ type: 'start' }, 100)
      return core
    }
    const fromZ = { ...proposal(5, ['m', 'z']), coordinator: 'z' }
    const again = restarted().step({ type: 'message', from: 'z', message: { type: 'propose', proposal: fromZ } }, 110)
    expect(again.map(e => e.type)).toEqual(['send'])
    // With the deliberate bug, the promise is forgotten and the epoch acknowledged twice.
    const twice = restarted({ forgetPromise: true }).step(
      { type: 'message', from: 'z', message: { type: 'propose', proposal: fromZ } },
      110
    )
    expect(twice.map(e => e.type)).toContain('acked')
  })

  it("once it applied a commit, acknowledges only proposals built on that commit's members", () => {
    // An agent that missed a commit proposes on the members it knew (or, in formation, on the
    // claimants it heard): a majority of that other base must not commit the same epoch again.
    const c = new CouncilCore({ self: 'm', name: 'm', roles: [], descriptor: d, membership: { alive: () => true } })
    c.step({ type: 'start' }, 0)
    const committed: Commit = { ...proposal(1, ['m', 'x', 'y', 'z', 'w']), acks: ['m', 'x', 'y'] }
    c.step({ type: 'message', from: 'x', message: { type: 'commit', commit: committed } }, 10)
    expect(c.epoch).toBe(1)
    const propose = (p: Proposal, now: number): Effect[] =>
      c.step({ type: 'message', from: p.coordinator, message: { type: 'propose', proposal: p } }, now)
    // Epoch 2 on another member set, the agent among them: neither ack nor promise.
    expect(propose({ ...proposal(2, ['m', 'x', 'q']), coordinator: 'q' }, 20)).toEqual([])
    expect(c.promised).toBe(1)
    // Epoch 2 on the committed members: acknowledged.
    expect(propose(proposal(2, ['m', 'x', 'y', 'z', 'w']), 30).map(e => e.type)).toEqual(['persist', 'acked', 'send'])
    // The deliberate bug acknowledges a stale base.
    const buggy = new CouncilCore(
      { self: 'm', name: 'm', roles: [], descriptor: d, membership: { alive: () => true } },
      {},
      { staleBase: true }
    )
    buggy.step({ type: 'start' }, 0)
    buggy.step({ type: 'message', from: 'x', message: { type: 'commit', commit: committed } }, 10)
    const stale = { ...proposal(2, ['m', 'x', 'q']), coordinator: 'q' }
    expect(
      buggy.step({ type: 'message', from: 'q', message: { type: 'propose', proposal: stale } }, 20).map(e => e.type)
    ).toContain('acked')
  })

  it('applies a commit only with acks of a strict majority of its base, and only above its epoch', () => {
    const c = new CouncilCore({ self: 'm', name: 'm', roles: [], descriptor: d, membership: { alive: () => true } })
    c.step({ type: 'start' }, 0)
    const commit = (epoch: number, acks: string[]): Commit => ({ ...proposal(epoch, ['x', 'y', 'z', 'w']), acks })
    const deliver = (cm: Commit, now: number): Effect[] =>
      c.step({ type: 'message', from: 'x', message: { type: 'commit', commit: cm } }, now)
    expect(deliver(commit(3, ['x', 'y']), 10)).toEqual([])
    expect(deliver(commit(3, ['x', 'y', 'y']), 11)).toEqual([])
    expect(deliver(commit(3, ['x', 'q', 'y']), 12)).toEqual([])
    expect(c.epoch).toBe(0)
    const applied = deliver(commit(3, ['x', 'y', 'z']), 20)
    expect(applied.map(e => e.type)).toEqual(['persist', 'applied'])
    expect(c.epoch).toBe(3)
    expect(c.promised).toBe(3)
    const digest = digestOf(d.id, proposal(3, ['x', 'y', 'z', 'w']))
    expect(applied[1]).toMatchObject({ type: 'applied', digest, published: false })
    // An older commit is answered with the newer one.
    expect(deliver(commit(2, ['x', 'y', 'z']), 30)).toEqual([
      { type: 'send', to: 'x', message: { type: 'commit', commit: commit(3, ['x', 'y', 'z']) } }
    ])
  })

  it('fails a formation without a core claimant at the end of the claim window (opener only), and a commit revives it', () => {
    const lonely = new Cluster(['a', 'b'], { ...d, coreRoles: ['tpm', 'designer'] })
    lonely.startAll(0)
    lonely.step('a', { type: 'tick' }, 1_999)
    expect(lonely.core('a').state).toBe('forming')
    lonely.step('a', { type: 'tick' }, 2_000)
    expect(lonely.core('a').state).toBe('failed')
    expect(lonely.core('a').wakeAt).toBe(Infinity)
    expect(lonely.core('b').state).toBe('failed')
    const revive: Commit = { ...proposal(1, ['a', 'b'], 'b'), acks: ['a', 'b'] }
    lonely.step('b', { type: 'message', from: 'b', message: { type: 'commit', commit: revive } }, 3_000)
    // Revived by the proof of a majority; degraded, as nobody holds the designer seat.
    expect(lonely.core('b').epoch).toBe(1)
    expect(lonely.core('b').state).toBe('degraded')
    expect(lonely.core('b').wakeAt).toBe(3_250)
  })

  it('fails over: when the holder of a core seat dies, the coordinator proposes at once and the survivors commit', () => {
    const cl = new Cluster(['a', 'b', 'c'], { ...d, optionalRoles: [] }, { a: ['tpm'], b: ['coder'], c: ['coder'] })
    cl.startAll(0)
    cl.step('a', { type: 'tick' }, 150)
    const holder = cl.core('a').roster.find(s => s.role === 'coder')?.peerId as string
    const standby = holder === 'b' ? 'c' : 'b'
    expect(cl.core('a').epoch).toBe(1)
    expect(cl.core('a').members).toEqual(['a', 'b', 'c'])
    cl.dead.add(holder)
    cl.step('a', { type: 'member', peer: holder }, 5_000)
    for (const id of ['a', standby]) {
      expect(cl.core(id).epoch, id).toBe(2)
      expect(cl.core(id).roster.find(s => s.role === 'coder')?.peerId, id).toBe(standby)
      expect(cl.core(id).state, id).toBe('active')
    }
  })
})
