/**
 * A simulated world: agents running the real membership core, a virtual clock, and the simulated
 * network between them. Nothing here reads the machine's clock or waits: time jumps from event to
 * event, and every random choice comes from the run's seed, so a seed replays a run exactly (the
 * trace hash says so).
 */
import { createHash, type Hash } from 'node:crypto'
import {
  MembershipCore,
  type CoreBugs,
  type CoreChange,
  type CoreOptions,
  type Effect,
  type Input,
  type Wire
} from '../membership/core/index.js'
import {
  CouncilCore,
  type CouncilBugs,
  type CouncilCoreOptions,
  type Effect as CouncilEffect,
  type Input as CouncilInput,
  type Wire as CouncilWire
} from '../council/core/index.js'
import type { Descriptor } from '../council/index.js'
import { SimCouncilStore } from './council-store.js'
import { CoreLivelockError } from './errors.js'
import { GossipMesh, type GossipHost } from './gossip.js'
import { EventHeap } from './heap.js'
import { Network, type NetworkOptions } from './network.js'
import { deriveSeed, prng } from './random.js'
import { councilWireBytes, wireBytes } from './size.js'

export interface WorldOptions {
  agents: number
  seed: number
  network: NetworkOptions
  core?: Partial<CoreOptions>
  /** The tenants of agent `i`. @default one tenant for all */
  tenants?: (i: number) => string[]
  /** Deliberate protocol bugs in every agent's core (tests of the monitor only). */
  bugs?: CoreBugs
  /** Every line of the trace, as it is hashed (for debugging a failing trial). */
  onTrace?: (line: string) => void
  /** Council cores: their tuning and deliberate bugs (tests of the monitor only). */
  council?: { options?: Partial<CouncilCoreOptions>; bugs?: CouncilBugs }
}

/** A council every agent follows: what `open` told them, and the roles agent `i` can hold in it. */
export interface SimCouncil {
  descriptor: Descriptor
  roles: (i: number) => string[]
}

type Event =
  | { kind: 'deliver'; to: number; from: number; message: Wire; bytes: number }
  | { kind: 'council'; to: number; from: number; message: CouncilWire; bytes: number }
  /** One gossipsub hop of a published council message (`id` tells copies of one message apart). */
  | { kind: 'gossip'; to: number; from: number; origin: number; message: CouncilWire; bytes: number; id: number }
  | { kind: 'tick'; agent: number; token: number }
  | { kind: 'council-tick'; agent: number; token: number }
  | { kind: 'action'; run: () => void }

export interface Traffic {
  sent: number
  received: number
  bytesSent: number
  bytesReceived: number
}

export interface Slot {
  readonly index: number
  readonly id: string
  core: MembershipCore | undefined
  council: CouncilCore | undefined
  /** The council core's store (survives a crash). */
  councilStore: SimCouncilStore
  councilToken: number
  councilAt: number
  up: boolean
  /** Paused (a long GC, SIGSTOP) until this time: what arrives waits. */
  pausedUntil: number
  backlog: Event[]
  /** The incarnation the agent stored (survives a crash). */
  persisted: number
  token: number
  scheduledAt: number
  traffic: Traffic
  /** Ticks at the current instant: a core that keeps asking for one is stuck. */
  ticksNow: { at: number; count: number }
  /** Gossip messages this agent got since it started (later copies are dropped). */
  seen: Set<number>
  /** Gossip messages on their way to this agent: when the first copy arrives. */
  inflight: Map<number, number>
}

/** Told of what happens, for the property monitor and the figures. */
export interface Observer {
  change?: (observer: number, change: CoreChange, now: number) => void
  council?: (agent: number, effect: CouncilEffect, now: number) => void
}

/** Ticks one agent may ask for at one instant before the run is stopped as stuck. */
const MAX_TICKS_AT_ONCE = 1_000
/** Bytes of an IHAVE or IWANT naming one message (its id, framing and RPC envelope). */
const GOSSIP_CONTROL_BYTES = 64

export const agentId = (i: number): string => `agent-${String(i).padStart(5, '0')}`

export class World {
  now = 0
  readonly agents: Slot[]
  readonly network: Network
  /** Events carried out so far. */
  steps = 0
  private readonly heap = new EventHeap<Event>()
  private readonly hash: Hash = createHash('sha256')
  private readonly byId = new Map<string, number>()
  private readonly netRandom: () => number
  private readonly mesh: GossipMesh
  private gossipIds = 0
  /** Gossip copies sent, first or duplicate, over the run (each is one network message). */
  gossipCopies = 0

  /** Messages published over gossip so far. */
  get gossipPublished(): number {
    return this.gossipIds
  }
  private readonly o: WorldOptions
  private spec?: SimCouncil

  constructor(
    o: WorldOptions,
    private readonly observer: Observer = {}
  ) {
    this.o = o
    this.netRandom = prng(deriveSeed(o.seed, 0xfeed))
    this.network = new Network(o.network, this.netRandom)
    this.mesh = new GossipMesh(o.agents, prng(deriveSeed(o.seed, 0x905)))
    this.agents = Array.from({ length: o.agents }, (_, index) => {
      const id = agentId(index)
      this.byId.set(id, index)
      return {
        index,
        id,
        core: undefined,
        council: undefined,
        councilToken: 0,
        councilAt: Infinity,
        councilStore: new SimCouncilStore(),
        up: false,
        pausedUntil: 0,
        backlog: [],
        persisted: 0,
        token: 0,
        scheduledAt: Infinity,
        traffic: { sent: 0, received: 0, bytesSent: 0, bytesReceived: 0 },
        ticksNow: { at: -1, count: 0 },
        seen: new Set<number>(),
        inflight: new Map<number, number>()
      }
    })
  }

  indexOf(id: string): number | undefined {
    return this.byId.get(id)
  }

  /** Run `fn` at simulated time `at`. */
  at(at: number, fn: () => void): void {
    this.heap.push(Math.max(at, this.now), { kind: 'action', run: fn })
  }

  /** Start (or restart after a crash) agent `i`, contacting `seeds` first. */
  start(i: number, seeds: number[] = []): void {
    const slot = this.slot(i)
    if (slot.up) return
    const random = prng(deriveSeed(this.o.seed, i, slot.persisted))
    slot.core = new MembershipCore(
      { self: slot.id, tenants: this.o.tenants?.(i) ?? ['default'], incarnation: slot.persisted },
      this.o.core ?? {},
      random,
      this.o.bugs
    )
    slot.up = true
    slot.pausedUntil = 0
    slot.backlog = []
    slot.seen = new Set()
    slot.inflight = new Map()
    this.mesh.join(i, this.running)
    this.trace(`start ${i}`)
    this.step(slot, { type: 'start', seeds: seeds.map(s => this.slot(s).id) })
    this.startCouncil(slot)
  }

  /** Open a council: every running agent follows it from now on, and so does every agent that starts later. */
  openCouncil(spec: SimCouncil): void {
    this.spec = spec
    this.trace(`open ${spec.descriptor.id}`)
    for (const slot of this.agents) if (slot.up) this.startCouncil(slot)
  }

  /** The council opened, if any. */
  get council(): SimCouncil | undefined {
    return this.spec
  }

  private startCouncil(slot: Slot): void {
    const spec = this.spec
    if (spec === undefined || !slot.up) return
    slot.council = new CouncilCore(
      {
        self: slot.id,
        name: slot.id,
        roles: spec.roles(slot.index),
        descriptor: spec.descriptor,
        membership: {
          alive: peer => {
            const state = slot.core?.stateOf(peer)
            return state === 'alive' || state === 'suspect'
          }
        },
        ...(slot.councilStore.onDisk !== undefined ? { persisted: slot.councilStore.onDisk } : {})
      },
      this.o.council?.options ?? {},
      this.o.council?.bugs ?? {}
    )
    this.councilStep(slot, { type: 'start' })
  }

  /** Kill agent `i` at once (kill -9): it keeps only what it persisted. */
  crash(i: number): void {
    const slot = this.slot(i)
    if (!slot.up) return
    slot.up = false
    slot.core = undefined
    slot.councilStore.crash(this.now)
    slot.council = undefined
    slot.councilToken++
    slot.councilAt = Infinity
    slot.token++
    slot.scheduledAt = Infinity
    slot.backlog = []
    slot.seen = new Set()
    slot.inflight = new Map()
    this.mesh.leave(i, this.running)
    this.trace(`crash ${i}`)
  }

  /** Stop agent `i` gracefully: it announces that it leaves, and is gone `afterMs` later. */
  leave(i: number, afterMs = 1_000): void {
    const slot = this.slot(i)
    if (!slot.up) return
    this.councilStep(slot, { type: 'resign' })
    this.step(slot, { type: 'leave' })
    this.at(this.now + afterMs, () => {
      this.crash(i)
    })
  }

  /** Freeze agent `i` for `ms`: its timers and messages wait, then all come at once. */
  pause(i: number, ms: number): void {
    const slot = this.slot(i)
    if (!slot.up || slot.pausedUntil > this.now) return
    slot.pausedUntil = this.now + ms
    this.trace(`pause ${i} ${ms}`)
    this.at(slot.pausedUntil, () => {
      this.resume(slot)
    })
  }

  discovered(i: number, peer: number): void {
    const slot = this.slot(i)
    if (slot.up && slot.pausedUntil <= this.now) this.step(slot, { type: 'discovered', peer: this.slot(peer).id })
  }

  /** Carry out events until simulated time `until`, or until `stop` says so (checked every `everyMs`). */
  run(until: number, stop?: () => boolean, everyMs = 250): void {
    let nextCheck = this.now + everyMs
    for (;;) {
      const next = this.heap.peek()
      if (next === undefined || next.at > until) break
      if (stop !== undefined && next.at >= nextCheck) {
        this.now = nextCheck
        if (stop()) return
        nextCheck += everyMs
        continue
      }
      this.heap.pop()
      this.now = next.at
      this.steps++
      this.handle(next.event)
    }
    this.now = Math.max(this.now, until)
  }

  traceHash(): string {
    return this.hash.copy().digest('hex')
  }

  /** Traffic of every agent, summed. */
  totals(): Traffic {
    const t: Traffic = { sent: 0, received: 0, bytesSent: 0, bytesReceived: 0 }
    for (const s of this.agents) {
      t.sent += s.traffic.sent
      t.received += s.traffic.received
      t.bytesSent += s.traffic.bytesSent
      t.bytesReceived += s.traffic.bytesReceived
    }
    return t
  }

  slot(i: number): Slot {
    const s = this.agents[i]
    if (s === undefined) throw new RangeError(`no agent ${i}`)
    return s
  }

  private handle(e: Event): void {
    if (e.kind === 'action') {
      e.run()
      return
    }
    const slot = this.slot(e.kind === 'deliver' || e.kind === 'council' || e.kind === 'gossip' ? e.to : e.agent)
    if (!slot.up) return
    if (e.kind === 'tick' && e.token !== slot.token) return
    if (e.kind === 'council-tick' && e.token !== slot.councilToken) return
    if (slot.pausedUntil > this.now) {
      slot.backlog.push(e)
      return
    }
    if (e.kind === 'tick' || e.kind === 'council-tick') {
      // A core that keeps asking to be woken at one instant is stuck: the run stops, naming it.
      if (slot.ticksNow.at !== this.now) slot.ticksNow = { at: this.now, count: 0 }
      if (++slot.ticksNow.count > MAX_TICKS_AT_ONCE) {
        throw new CoreLivelockError(slot.index, this.now, MAX_TICKS_AT_ONCE)
      }
    }
    if (e.kind === 'tick') {
      slot.scheduledAt = Infinity
      this.step(slot, { type: 'tick' })
      return
    }
    if (e.kind === 'council-tick') {
      slot.councilAt = Infinity
      this.councilStep(slot, { type: 'tick' })
      return
    }
    slot.traffic.received++
    slot.traffic.bytesReceived += e.bytes
    const from = this.slot(e.from)
    if (e.kind === 'gossip') {
      if (slot.seen.has(e.id)) return
      slot.seen.add(e.id)
      slot.inflight.delete(e.id)
      this.trace(`g ${e.from}>${e.to} ${e.origin}#${e.id} ${e.message.type}`)
      // Gossipsub's messages are signed by their author: the core hears it from the origin.
      this.councilStep(slot, { type: 'message', from: this.slot(e.origin).id, message: e.message })
      if (slot.up) this.relay(slot, e.message, e.id, e.origin, e.from)
      return
    }
    if (e.kind === 'council') {
      this.trace(`cd ${e.from}>${e.to} ${e.message.type}`)
      this.councilStep(slot, { type: 'message', from: from.id, message: e.message })
      return
    }
    this.trace(`d ${e.from}>${e.to} ${e.message.type} ${'seq' in e.message ? e.message.seq : ''}`)
    this.step(slot, { type: 'message', from: from.id, message: e.message })
  }

  private resume(slot: Slot): void {
    if (!slot.up || slot.pausedUntil > this.now) return
    const backlog = slot.backlog
    slot.backlog = []
    this.trace(`resume ${slot.index}`)
    for (const e of backlog) if (slot.up) this.handle(e)
    if (slot.up) this.step(slot, { type: 'tick' })
  }

  private step(slot: Slot, input: Input): void {
    const core = slot.core
    if (core === undefined) return
    const effects = core.step(input, this.now)
    for (const effect of effects) this.effect(slot, effect)
    const wake = core.wakeAt
    if (wake < slot.scheduledAt || slot.scheduledAt < this.now) {
      if (wake === Infinity) return
      slot.scheduledAt = wake
      slot.token++
      this.heap.push(Math.max(wake, this.now), { kind: 'tick', agent: slot.index, token: slot.token })
    }
  }

  private effect(slot: Slot, effect: Effect): void {
    switch (effect.type) {
      case 'persist':
        slot.persisted = effect.incarnation
        return
      case 'change':
        this.trace(`c ${slot.index} ${effect.change.peer} ${effect.change.state} ${effect.change.incarnation}`)
        this.observer.change?.(slot.index, effect.change, this.now)
        if (slot.council !== undefined) this.councilStep(slot, { type: 'member', peer: effect.change.peer })
        return
      case 'send': {
        const to = this.byId.get(effect.to)
        if (to === undefined) return
        const bytes = wireBytes(effect.message)
        slot.traffic.sent++
        slot.traffic.bytesSent += bytes
        for (const delay of this.network.copies(slot.index, to)) {
          this.heap.push(this.now + delay, { kind: 'deliver', to, from: slot.index, message: effect.message, bytes })
        }
      }
    }
  }

  private councilStep(slot: Slot, input: CouncilInput): void {
    const core = slot.council
    if (core === undefined) return
    for (const effect of core.step(input, this.now)) this.councilEffect(slot, effect)
    const wake = core.wakeAt
    if (wake !== Infinity && (wake < slot.councilAt || slot.councilAt < this.now)) {
      slot.councilAt = wake
      slot.councilToken++
      this.heap.push(Math.max(wake, this.now), { kind: 'council-tick', agent: slot.index, token: slot.councilToken })
    }
  }

  private councilEffect(slot: Slot, effect: CouncilEffect): void {
    this.observer.council?.(slot.index, effect, this.now)
    switch (effect.type) {
      case 'persist':
        slot.councilStore.save(effect.state, effect.durable, this.now)
        return
      case 'applied':
        this.trace(`ca ${slot.index} ${effect.commit.epoch} ${effect.digest}`)
        return
      case 'send': {
        const to = this.byId.get(effect.to)
        if (to !== undefined) this.councilSend(slot, to, effect.message)
        return
      }
      case 'publish': {
        const id = ++this.gossipIds
        slot.seen.add(id)
        this.relay(slot, effect.message, id, slot.index, -1)
      }
    }
  }

  private readonly running = (j: number): boolean => this.agents[j]?.up === true

  private readonly gossipHost: GossipHost = {
    now: () => this.now,
    running: this.running,
    seen: j => this.slot(j).seen,
    lacks: (j, id) => {
      const s = this.slot(j)
      return s.up && s.pausedUntil <= this.now && !s.seen.has(id)
    },
    control: (from, to, then) => {
      this.control(this.slot(from), to, then)
    },
    count: (from, to) => {
      this.control(this.slot(from), to)
    },
    at: (time, fn) => {
      this.at(time, fn)
    }
  }

  /** Gossipsub's relay of a council message at `slot` (see `GossipMesh.relay`). */
  private relay(slot: Slot, message: CouncilWire, id: number, origin: number, cameFrom: number): void {
    const bytes = councilWireBytes(message)
    this.mesh.relay(this.gossipHost, slot.index, id, cameFrom, to => {
      this.gossipHop(slot, to, message, id, origin, bytes)
    })
  }

  private gossipHop(slot: Slot, to: number, message: CouncilWire, id: number, origin: number, bytes: number): void {
    slot.traffic.sent++
    slot.traffic.bytesSent += bytes
    this.gossipCopies++
    const target = this.slot(to)
    // A copy for an agent that has the message, or will have it sooner from another copy, is
    // dropped where it arrives: it is counted, and not scheduled (at a thousand agents such
    // duplicates were most of the run's events).
    for (const delay of this.network.copies(slot.index, to)) {
      const at = this.now + delay
      const first = target.inflight.get(id)
      if (target.seen.has(id) || (first !== undefined && first <= at)) {
        if (target.up) {
          target.traffic.received++
          target.traffic.bytesReceived += bytes
        }
        continue
      }
      target.inflight.set(id, at)
      this.heap.push(at, { kind: 'gossip', to, from: slot.index, origin, message, bytes, id })
    }
  }

  /** A gossipsub control message (IHAVE, IWANT) from `slot` to `to`; `then` runs where it arrives. */
  private control(slot: Slot, to: number, then?: () => void): void {
    slot.traffic.sent++
    slot.traffic.bytesSent += GOSSIP_CONTROL_BYTES
    if (then === undefined) {
      const target = this.slot(to)
      if (target.up && this.network.reaches(slot.index, to)) {
        target.traffic.received++
        target.traffic.bytesReceived += GOSSIP_CONTROL_BYTES
      }
      return
    }
    for (const delay of this.network.copies(slot.index, to)) {
      this.at(this.now + delay, () => {
        const target = this.slot(to)
        if (!target.up) return
        target.traffic.received++
        target.traffic.bytesReceived += GOSSIP_CONTROL_BYTES
        then()
      })
    }
  }

  private councilSend(slot: Slot, to: number, message: CouncilWire): void {
    const bytes = councilWireBytes(message)
    slot.traffic.sent++
    slot.traffic.bytesSent += bytes
    for (const delay of this.network.copies(slot.index, to)) {
      this.heap.push(this.now + delay, { kind: 'council', to, from: slot.index, message, bytes })
    }
  }

  private trace(line: string): void {
    const text = `${this.now.toFixed(3)} ${line}\n`
    this.hash.update(text)
    this.o.onTrace?.(text)
  }
}
