/**
 * Gossipsub as the simulator models it, with the mesh degree and heartbeat the real configuration
 * uses. Each running agent keeps a mesh of about D peers; links are symmetric, as GRAFT makes
 * them. A message goes from its publisher to its mesh peers, and every agent that receives it
 * first forwards it to its own mesh peers (not back to the one it came from): one network hop
 * per copy, each with its own delay, loss and partition check. Duplicates are dropped on arrival.
 * Gossip repairs what the mesh missed: at each heartbeat an agent names the messages it got since
 * the last one (IHAVE) to Dlazy other peers, and each of those that lacks some fetches them
 * (IWANT), one round trip later. A peer that crashed leaves the meshes it was in, and peers left
 * below Dlo graft new ones, as gossipsub's heartbeat does; a started agent grafts D peers.
 *
 * Not modelled: scoring, backoff after a PRUNE, flood publishing to non-mesh peers, message
 * caches expiring (a message is named at one heartbeat only, gossipsub names it at three).
 */
import { GOSSIP_HEARTBEAT_MS, GOSSIP_LAZY_DEGREE, GOSSIP_MESH_DEGREE } from '../node/constants.js'

export interface MeshOptions {
  D: number
  Dlo: number
  Dhi: number
  /** Peers told of a message at the next heartbeat (IHAVE). */
  Dlazy: number
  heartbeatMs: number
}

export const DEFAULT_MESH: Readonly<MeshOptions> = Object.freeze({
  ...GOSSIP_MESH_DEGREE,
  Dlazy: GOSSIP_LAZY_DEGREE,
  heartbeatMs: GOSSIP_HEARTBEAT_MS
})

/** What relaying needs of the world: its clock, its agents, and the network between them. */
export interface GossipHost {
  now(): number
  running(j: number): boolean
  /** Messages agent `j` got in its current run (a restart starts a new set). */
  seen(j: number): ReadonlySet<number>
  /** Agent `j` runs, is not paused, and lacks message `id`: told of it, it asks for it. */
  lacks(j: number, id: number): boolean
  /** A control message from `from` to `to` that changes nothing where it arrives: only counted. */
  count(from: number, to: number): void
  /** A control message (IHAVE, IWANT) from `from` to `to`: `then` runs where it arrives. */
  control(from: number, to: number, then: () => void): void
  at(time: number, fn: () => void): void
}

interface Window {
  /** The agent's run the window belongs to (a restart starts a new `seen`). */
  seen: ReadonlySet<number>
  entries: Array<{ id: number; send: (to: number) => void }>
}

/** The mesh links of every agent, kept among the running ones. */
export class GossipMesh {
  private readonly links: Array<Set<number>>
  /** Running agents with fewer than Dlo mesh peers: each heartbeat would graft more. */
  private readonly under = new Set<number>()
  /** Messages each agent got since its last heartbeat, for its next IHAVE. */
  private readonly windows = new Map<number, Window>()
  private readonly phases: number[] = []

  constructor(
    agents: number,
    private readonly random: () => number,
    readonly o: MeshOptions = DEFAULT_MESH
  ) {
    this.links = Array.from({ length: agents }, () => new Set<number>())
  }

  /** Mesh peers of agent `i`. */
  peers(i: number): ReadonlySet<number> {
    return this.links[i] as Set<number>
  }

  /** Agent `i` started: it grafts peers among the running ones until it has D. */
  join(i: number, running: (j: number) => boolean): void {
    this.fill(i, running, this.o.D)
    // Agents that started when few others ran graft the newcomers too.
    for (const j of [...this.under]) if (j !== i) this.fill(j, running, this.o.D)
  }

  /** Agent `i` is gone: it leaves every mesh, and peers left below Dlo graft new ones up to D. */
  leave(i: number, running: (j: number) => boolean): void {
    const mine = this.links[i] as Set<number>
    const orphans = [...mine]
    for (const j of orphans) this.links[j]?.delete(i)
    mine.clear()
    this.under.delete(i)
    for (const j of orphans) if ((this.links[j]?.size ?? 0) < this.o.Dlo) this.fill(j, running, this.o.D)
  }

  /**
   * Agent `i` got message `id` first from `cameFrom` (or published it: -1): `send` it on to its
   * other mesh peers now. At its next heartbeat it names every message it got since the last one
   * to Dlazy other peers in one IHAVE; a peer that lacks some asks for them (IWANT) and gets them.
   */
  relay(host: GossipHost, i: number, id: number, cameFrom: number, send: (to: number) => void): void {
    for (const peer of this.peers(i)) if (peer !== cameFrom) send(peer)
    let window = this.windows.get(i)
    if (window === undefined || window.seen !== host.seen(i)) {
      window = { seen: host.seen(i), entries: [] }
      this.windows.set(i, window)
      const phase = this.phase(i)
      const next = phase + Math.ceil((host.now() - phase) / this.o.heartbeatMs + 1e-9) * this.o.heartbeatMs
      const w = window
      host.at(next, () => {
        this.heartbeat(host, i, w)
      })
    }
    window.entries.push({ id, send })
  }

  private heartbeat(host: GossipHost, i: number, w: Window): void {
    if (this.windows.get(i) === w) this.windows.delete(i)
    if (!host.running(i) || host.seen(i) !== w.seen) return
    for (const peer of this.sample(i, this.o.Dlazy, j => host.running(j), this.peers(i))) {
      const lacking = w.entries.filter(e => host.lacks(peer, e.id))
      // A peer that holds them all only hears the IHAVE: counted, nothing to schedule.
      if (lacking.length === 0) {
        host.count(i, peer)
        continue
      }
      host.control(i, peer, () => {
        const wanted = lacking.filter(e => host.lacks(peer, e.id))
        if (wanted.length === 0) return
        host.control(peer, i, () => {
          if (host.running(i)) for (const e of wanted) e.send(peer)
        })
      })
    }
  }

  /** Agent `i`'s heartbeat offset: heartbeats of different agents are not in step. */
  private phase(i: number): number {
    let p = this.phases[i]
    if (p === undefined) {
      p = this.random() * this.o.heartbeatMs
      this.phases[i] = p
    }
    return p
  }

  /** Up to `k` random running agents other than `i` and outside `except` (IHAVE targets). */
  sample(i: number, k: number, running: (j: number) => boolean, except: ReadonlySet<number>): number[] {
    const out: number[] = []
    const n = this.links.length
    // Rejection sampling with a bounded number of draws: cheap at any size, deterministic.
    for (let tries = 0; out.length < k && tries < k * 8; tries++) {
      const j = Math.floor(this.random() * n)
      if (j !== i && running(j) && !except.has(j) && !out.includes(j)) out.push(j)
    }
    return out
  }

  /** `j` is over D: it drops a link to a peer other than `keep` that stays at Dlo or more. */
  private prune(j: number, keep: number): void {
    const theirs = this.links[j] as Set<number>
    const candidates = [...theirs].filter(k => k !== keep && (this.links[k]?.size ?? 0) > this.o.Dlo)
    if (candidates.length === 0) return
    const k = candidates[Math.floor(this.random() * candidates.length)] as number
    theirs.delete(k)
    this.links[k]?.delete(j)
  }

  /**
   * Graft random running peers until `i` has `target`. Peers with fewer than D take a graft; only
   * when those run out, peers up to Dhi do. A peer left over D prunes another link, as gossipsub's
   * heartbeat prunes a mesh back to D.
   */
  private fill(i: number, running: (j: number) => boolean, target: number): void {
    const mine = this.links[i] as Set<number>
    const n = this.links.length
    for (const limit of [this.o.D, this.o.Dhi]) {
      for (let tries = 0; mine.size < target && tries < target * 16; tries++) {
        const j = Math.floor(this.random() * n)
        const theirs = this.links[j] as Set<number>
        if (j === i || !running(j) || mine.has(j) || theirs.size >= limit) continue
        mine.add(j)
        theirs.add(i)
        if (theirs.size >= this.o.Dlo) this.under.delete(j)
        if (theirs.size > this.o.D) this.prune(j, i)
      }
    }
    if (mine.size < this.o.Dlo) this.under.add(i)
    else this.under.delete(i)
  }
}
