/**
 * The membership core, stepped by hand with explicit clock values: what it sends, when, and what
 * it concludes. No network, no timers: each test plays the other members itself.
 */
import { describe, expect, it } from 'vitest'
import { prng } from '../../src/simulate/index.js'
import {
  Broadcasts,
  MembershipCore,
  pushPullInterval,
  retransmitLimit,
  suspicionBounds,
  suspicionDeadline,
  type Effect,
  type Update,
  type Wire
} from '../../src/membership/core/index.js'

const sends = (effects: Effect[]): Array<{ to: string; message: Wire }> =>
  effects.flatMap(e => (e.type === 'send' ? [{ to: e.to, message: e.message }] : []))
const changes = (effects: Effect[]): string[] =>
  effects.flatMap(e => (e.type === 'change' ? [`${e.change.peer} ${e.change.state} ${e.change.reason}`] : []))
const alive = (peer: string, incarnation = 1, tenants = ['t']): Update => ({
  kind: 'alive',
  peer,
  incarnation,
  tenants
})

/** A core `a` that knows `others` as alive members (learned from a sync at time 0). */
function withMembers(others: string[], options = {}, random = () => 0.5): MembershipCore {
  const core = new MembershipCore(
    { self: 'a', tenants: ['t'] },
    { probeIntervalMs: 1_000, probeTimeoutMs: 500, ...options },
    random
  )
  core.step({ type: 'start' }, 0)
  core.step(
    {
      type: 'message',
      from: others[0] as string,
      message: {
        type: 'sync',
        reply: true,
        tenants: ['t'],
        members: others.map(p => ({ peer: p, incarnation: 1, state: 'alive' as const, tenants: ['t'] }))
      }
    },
    0
  )
  return core
}

/** Step through ticks up to `until`, gathering every effect. */
function runTo(core: MembershipCore, from: number, until: number): Array<{ at: number; effects: Effect[] }> {
  const out: Array<{ at: number; effects: Effect[] }> = []
  let now = from
  while (core.wakeAt <= until) {
    now = Math.max(now, core.wakeAt)
    out.push({ at: now, effects: core.step({ type: 'tick' }, now) })
  }
  return out
}

/** Tick until the core pings someone; the time and the ping. */
function nextPing(core: MembershipCore): { at: number; to: string; seq: number } {
  for (let i = 0; i < 100; i++) {
    const at = core.wakeAt
    const ping = sends(core.step({ type: 'tick' }, at)).find(s => s.message.type === 'ping')
    if (ping?.message.type === 'ping') return { at, to: ping.to, seq: ping.message.seq }
  }
  throw new Error('no ping')
}

describe('membership core', () => {
  it('starts one incarnation above what it stored, stores that first, and contacts its seeds with its own record', () => {
    const core = new MembershipCore({ self: 'a', tenants: ['t'], incarnation: 4 }, {}, () => 0.5)
    const effects = core.step({ type: 'start', seeds: ['b'] }, 0)
    expect(effects[0]).toEqual({ type: 'persist', incarnation: 5 })
    const [sync] = sends(effects)
    expect(sync?.to).toBe('b')
    expect(sync?.message).toMatchObject({
      type: 'sync',
      reply: false,
      members: [{ peer: 'a', incarnation: 5, state: 'alive', tenants: ['t'] }]
    })
  })

  it('takes a newcomer from its sync, answers with its own view, and passes only the newcomer on', () => {
    const core = withMembers(['b', 'c'])
    const effects = core.step(
      {
        type: 'message',
        from: 'd',
        message: {
          type: 'sync',
          reply: false,
          tenants: ['t'],
          members: [
            { peer: 'd', incarnation: 1, state: 'alive', tenants: ['t'] },
            { peer: 'e', incarnation: 1, state: 'alive', tenants: ['t'] }
          ]
        }
      },
      10
    )
    expect(changes(effects)).toEqual(['d alive joined', 'e alive joined'])
    const reply = sends(effects).find(s => s.to === 'd')?.message
    expect(reply?.type === 'sync' && reply.reply).toBe(true)
    expect(reply?.type === 'sync' ? reply.members.map(m => m.peer).sort() : []).toEqual(['a', 'b', 'c', 'd', 'e'])
    // The gossip that follows carries d (the sender's own record), not e (learned second-hand).
    const gossip = runTo(core, 10, 300)
      .flatMap(r => sends(r.effects))
      .filter(s => s.message.type === 'gossip')
    const told = new Set(gossip.flatMap(s => (s.message.type === 'gossip' ? s.message.updates.map(u => u.peer) : [])))
    expect(told.has('d')).toBe(true)
    expect(told.has('e')).toBe(false)
  })

  it('pings one member per period; without an ack it asks helpers at the timeout and suspects at the end of the period', () => {
    const core = withMembers(['b', 'c', 'd', 'e'], {}, prng(1))
    const { at, to: target } = nextPing(core)
    // Nothing answers. At the probe timeout, helpers are asked.
    const helpers = runTo(core, at, at + 500)
      .flatMap(r => sends(r.effects))
      .filter(s => s.message.type === 'ping-req')
    expect(new Set(helpers.map(h => h.to)).size).toBe(3)
    expect(helpers.every(h => h.to !== target && h.message.type === 'ping-req' && h.message.target === target)).toBe(
      true
    )
    // At the end of the period, suspect.
    const end = runTo(core, at + 500, at + 1_000).flatMap(r => changes(r.effects))
    expect(end).toContain(`${target} suspect suspected`)
    // No helper sent a nack either: the agent doubts itself and stretches its timers.
    expect(core.health).toBe(3)
  })

  it('an ack in time clears the probe, and good probes bring local health back', () => {
    const core = withMembers(['b', 'c'])
    core.step(
      {
        type: 'message',
        from: 'b',
        message: { type: 'gossip', updates: [{ kind: 'suspect', peer: 'a', incarnation: 1, from: 'b' }] }
      },
      1
    )
    expect(core.health).toBe(1)
    for (let round = 0; round < 3; round++) {
      const { at, to, seq } = nextPing(core)
      core.step({ type: 'message', from: to, message: { type: 'ack', seq, updates: [] } }, at + 1)
      const later = runTo(core, at + 1, at + 999).flatMap(r => [
        ...changes(r.effects),
        ...sends(r.effects).map(s => s.message.type)
      ])
      expect(later).not.toContain('ping-req')
      expect(later.some(c => c.includes('suspect'))).toBe(false)
    }
    expect(core.health).toBe(0)
  })

  it('a helper pings the target for the asker, forwards its ack, and sends a nack when none came in time', () => {
    const core = withMembers(['b', 'c'])
    const asked = sends(
      core.step({ type: 'message', from: 'b', message: { type: 'ping-req', seq: 7, target: 'c', updates: [] } }, 100)
    )
    const ping = asked.find(s => s.to === 'c' && s.message.type === 'ping')
    if (ping?.message.type !== 'ping') throw new Error('no ping to the target')
    const forwarded = sends(
      core.step({ type: 'message', from: 'c', message: { type: 'ack', seq: ping.message.seq, updates: [] } }, 150)
    )
    expect(forwarded).toEqual([{ to: 'b', message: expect.objectContaining({ type: 'ack', seq: 7 }) }])
    // A second request the target does not answer: a nack at 80% of the timeout.
    core.step({ type: 'message', from: 'b', message: { type: 'ping-req', seq: 8, target: 'c', updates: [] } }, 200)
    const nacks = runTo(core, 200, 600)
      .flatMap(r => sends(r.effects))
      .filter(s => s.message.type === 'nack')
    expect(nacks).toEqual([{ to: 'b', message: { type: 'nack', seq: 8 } }])
  })

  it('a suspicion lasts long alone and shrinks as independent members confirm it', () => {
    const { min, max } = suspicionBounds(4, 6, 10, 1_000)
    expect(min).toBe(4_000)
    expect(max).toBe(24_000)
    const core = withMembers(['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'])
    core.step(
      {
        type: 'message',
        from: 'b',
        message: { type: 'gossip', updates: [{ kind: 'suspect', peer: 'c', incarnation: 1, from: 'b' }] }
      },
      1_000
    )
    const suspect = core.members().find(m => m.peer === 'c')
    if (suspect?.suspicion === undefined) throw new Error('no suspicion')
    expect(suspicionDeadline(suspect.suspicion)).toBe(1_000 + 24_000)
    for (const from of ['d', 'e', 'f']) {
      core.step(
        {
          type: 'message',
          from,
          message: { type: 'gossip', updates: [{ kind: 'suspect', peer: 'c', incarnation: 1, from }] }
        },
        2_000
      )
    }
    expect(suspicionDeadline(suspect.suspicion)).toBe(1_000 + 4_000)
    const dead = runTo(core, 2_000, 5_000).flatMap(r => changes(r.effects))
    expect(dead).toContain('c dead confirmed-dead')
  })

  it('refutes a suspicion of itself under a new incarnation, stored before it is sent', () => {
    const core = withMembers(['b', 'c'])
    const effects = core.step(
      {
        type: 'message',
        from: 'b',
        message: {
          type: 'ping',
          seq: 1,
          target: 'a',
          updates: [{ kind: 'suspect', peer: 'a', incarnation: 1, from: 'b' }]
        }
      },
      100
    )
    expect(effects[0]).toEqual({ type: 'persist', incarnation: 2 })
    const ack = sends(effects).find(s => s.message.type === 'ack')?.message
    expect(ack?.type === 'ack' ? ack.updates : []).toContainEqual({
      kind: 'alive',
      peer: 'a',
      incarnation: 2,
      tenants: ['t']
    })
    expect(core.currentIncarnation).toBe(2)
  })

  it('answers a stale suspicion with its current incarnation, without a new one', () => {
    const core = withMembers(['b', 'c'])
    core.step(
      {
        type: 'message',
        from: 'b',
        message: { type: 'gossip', updates: [{ kind: 'suspect', peer: 'a', incarnation: 1, from: 'b' }] }
      },
      100
    )
    expect(core.currentIncarnation).toBe(2)
    const effects = core.step(
      {
        type: 'message',
        from: 'c',
        message: {
          type: 'ping',
          seq: 3,
          target: 'a',
          updates: [{ kind: 'suspect', peer: 'a', incarnation: 1, from: 'c' }]
        }
      },
      200
    )
    expect(effects.some(e => e.type === 'persist')).toBe(false)
    const ack = sends(effects).find(s => s.to === 'c')?.message
    expect(ack?.type === 'ack' ? ack.updates : []).toContainEqual({
      kind: 'alive',
      peer: 'a',
      incarnation: 2,
      tenants: ['t']
    })
  })

  it("tells a member it holds suspect so in every message to it (Lifeguard's buddy system)", () => {
    const core = withMembers(['b', 'c'])
    core.step(
      {
        type: 'message',
        from: 'b',
        message: { type: 'gossip', updates: [{ kind: 'suspect', peer: 'c', incarnation: 1, from: 'b' }] }
      },
      100
    )
    // Long after the queue has sent the suspicion its few times, a ping from c is answered with it.
    runTo(core, 100, 3_000)
    const effects = core.step(
      { type: 'message', from: 'c', message: { type: 'ping', seq: 9, target: 'a', updates: [] } },
      3_001
    )
    const ack = sends(effects).find(s => s.to === 'c')?.message
    expect(ack?.type === 'ack' ? ack.updates : []).toContainEqual({
      kind: 'suspect',
      peer: 'c',
      incarnation: 1,
      from: 'a'
    })
  })

  it('higher incarnations win; at one incarnation suspect beats alive and dead beats suspect; left is final for its incarnation', () => {
    const core = withMembers(['b', 'c'])
    const news = (updates: Update[], at: number): string[] =>
      changes(core.step({ type: 'message', from: 'c', message: { type: 'gossip', updates } }, at))
    expect(news([alive('b', 1)], 10)).toEqual([])
    expect(news([{ kind: 'suspect', peer: 'b', incarnation: 1, from: 'c' }], 20)).toEqual(['b suspect suspected'])
    expect(news([alive('b', 1)], 30)).toEqual([])
    expect(news([alive('b', 2)], 40)).toEqual(['b alive refuted'])
    expect(news([{ kind: 'dead', peer: 'b', incarnation: 1, from: 'c' }], 50)).toEqual([])
    expect(news([{ kind: 'dead', peer: 'b', incarnation: 2, from: 'c' }], 60)).toEqual(['b dead confirmed-dead'])
    expect(news([alive('b', 3)], 70)).toEqual(['b alive rejoined'])
    expect(news([{ kind: 'left', peer: 'b', incarnation: 3 }], 80)).toEqual(['b left left'])
    expect(news([{ kind: 'dead', peer: 'b', incarnation: 3, from: 'c' }], 90)).toEqual([])
  })

  it('keeps tenants apart: news about a member goes only to members of a tenant it shares, narrowed to that tenant', () => {
    const core = new MembershipCore({ self: 'a', tenants: ['x', 'y'] }, {}, () => 0.5)
    core.step({ type: 'start' }, 0)
    core.step(
      {
        type: 'message',
        from: 'bx',
        message: {
          type: 'sync',
          reply: true,
          tenants: ['x'],
          members: [{ peer: 'bx', incarnation: 1, state: 'alive', tenants: ['x'] }]
        }
      },
      0
    )
    core.step(
      {
        type: 'message',
        from: 'cy',
        message: {
          type: 'sync',
          reply: true,
          tenants: ['y'],
          members: [{ peer: 'cy', incarnation: 1, state: 'alive', tenants: ['y'] }]
        }
      },
      0
    )
    // dxy is in both tenants; it announces itself to a.
    core.step(
      { type: 'message', from: 'dxy', message: { type: 'gossip', updates: [alive('dxy', 1, ['x', 'y', 'z'])] } },
      10
    )
    expect(core.members().find(m => m.peer === 'dxy')?.tenants).toEqual(['x', 'y'])
    const told = runTo(core, 10, 1_000)
      .flatMap(r => sends(r.effects))
      .flatMap(s => ('updates' in s.message ? s.message.updates.map(u => ({ to: s.to, u })) : []))
    const aboutD = told.filter(t => t.u.peer === 'dxy')
    expect(aboutD.length).toBeGreaterThan(0)
    for (const { to, u } of aboutD) expect(u.kind === 'alive' ? u.tenants : []).toEqual([to === 'bx' ? 'x' : 'y'])
    // A sync to bx names no member of y only.
    const sync = sends(
      core.step(
        { type: 'message', from: 'bx', message: { type: 'sync', reply: false, tenants: ['x'], members: [] } },
        2_000
      )
    ).find(s => s.message.type === 'sync')?.message
    expect(sync?.type === 'sync' ? sync.members.map(m => m.peer).sort() : []).toEqual(['a', 'bx', 'dxy'])
    // News from a peer of another tenant only is ignored.
    expect(
      changes(
        core.step({ type: 'message', from: 'ez', message: { type: 'gossip', updates: [alive('ez', 1, ['z'])] } }, 2_100)
      )
    ).toEqual([])
  })

  it('leaves: announces it to a few members at once, then stops probing', () => {
    const core = withMembers(['b', 'c', 'd', 'e'])
    const effects = core.step({ type: 'leave' }, 100)
    const left = sends(effects).filter(
      s => s.message.type === 'gossip' && s.message.updates.some(u => u.kind === 'left' && u.peer === 'a')
    )
    expect(left.length).toBeGreaterThanOrEqual(1)
    expect(
      runTo(core, 100, 10_000)
        .flatMap(r => sends(r.effects))
        .some(s => s.message.type === 'ping')
    ).toBe(false)
  })

  it('a lonely agent tries its seeds again at each push-pull', () => {
    const core = new MembershipCore({ self: 'a', tenants: ['t'] }, {}, () => 0.5)
    core.step({ type: 'start', seeds: ['s'] }, 0)
    const again = runTo(core, 0, 5_000)
      .flatMap(r => sends(r.effects))
      .filter(s => s.to === 's' && s.message.type === 'sync')
    expect(again.length).toBeGreaterThanOrEqual(1)
  })
})

describe('dissemination queue', () => {
  it('sends each update `limit` times, the least-sent first, and news about a member replaces older news about it', () => {
    const q = new Broadcasts()
    q.push(alive('b', 1))
    q.push(alive('c', 1))
    expect(q.take(1, 2, u => u).map(u => u.peer)).toEqual(['b'])
    expect(q.take(1, 2, u => u).map(u => u.peer)).toEqual(['c'])
    q.push(alive('b', 2))
    expect(q.take(5, 2, u => u)).toEqual([alive('b', 2), alive('c', 1)])
    expect(q.take(5, 2, u => u)).toEqual([alive('b', 2)])
    expect(q.size).toBe(0)
  })

  it('skips what the receiver may not see, without counting it', () => {
    const q = new Broadcasts()
    q.push(alive('b', 1))
    expect(q.take(5, 3, () => undefined)).toEqual([])
    expect(q.size).toBe(1)
  })

  it('scales with the mesh like memberlist: retransmissions with log10, push-pull past 32 members', () => {
    expect(retransmitLimit(4, 9)).toBe(4)
    expect(retransmitLimit(4, 100)).toBe(12)
    expect(retransmitLimit(4, 1_000)).toBe(16)
    expect(pushPullInterval(30_000, 32)).toBe(30_000)
    expect(pushPullInterval(30_000, 64)).toBe(60_000)
    expect(pushPullInterval(30_000, 1_000)).toBe(180_000)
  })
})
