/**
 * The council properties, checked on every effect of every agent's council core while a run goes,
 * and at its end:
 * - agreement: one roster (one proposal digest) per epoch, whoever applied it;
 * - uniqueness: one holder per seat and epoch, across every agent's view;
 * - fencing: no agent acknowledges two proposals of one epoch, nor an epoch below one it
 *   acknowledged (across its restarts: what it promised is persisted);
 * - majority: a published commit carries acknowledgements that a strict majority of its base
 *   really sent (so a side without a majority, which cannot gather them, commits nothing);
 * - liveness: after the faults end, every running agent converges on one epoch whose core seats
 *   are held by running agents (as many as the running agents' roles can fill), provided a
 *   majority of the last committed members runs: without one, safety forbids any new commit.
 */
import type { Effect } from '../council/core/index.js'
import { assignRoster } from '../council/index.js'
import type { MembershipMonitor } from './monitor.js'
import type { World } from './world.js'

export class CouncilMonitor {
  /** Per agent: the digest it acknowledged at each epoch, and its highest acknowledged epoch. */
  private readonly acked = new Map<number, Map<number, string>>()
  private readonly highest = new Map<number, number>()
  /** Per epoch: the digest applied, and by whom first. */
  private readonly applied = new Map<number, { digest: string; agent: number; holders: Map<string, string> }>()
  /** Per digest: who acknowledged it. */
  private readonly ackers = new Map<string, Set<string>>()
  /** When a roster was last applied anywhere. */
  lastAppliedAt = 0
  /** Commits published (epochs). */
  readonly commits: Array<{ agent: number; epoch: number; at: number }> = []

  constructor(
    private readonly world: World,
    private readonly monitor: MembershipMonitor
  ) {}

  readonly effect = (agent: number, effect: Effect, now: number): void => {
    if (effect.type === 'acked') this.onAcked(agent, effect.epoch, effect.digest, now)
    else if (effect.type === 'applied') this.onApplied(agent, effect, now)
  }

  private onAcked(agent: number, epoch: number, digest: string, now: number): void {
    const mine = this.acked.get(agent) ?? new Map<number, string>()
    this.acked.set(agent, mine)
    const before = mine.get(epoch)
    if (before !== undefined && before !== digest) {
      this.monitor.violate(
        'fencing',
        `agent ${agent} acknowledged two proposals of epoch ${epoch} (at ${now.toFixed(0)} ms)`
      )
    }
    const highest = this.highest.get(agent) ?? 0
    if (epoch < highest) {
      this.monitor.violate(
        'fencing',
        `agent ${agent} acknowledged epoch ${epoch} after epoch ${highest} (at ${now.toFixed(0)} ms): epochs went back`
      )
    }
    this.highest.set(agent, Math.max(highest, epoch))
    mine.set(epoch, digest)
    const ackers = this.ackers.get(digest) ?? new Set<string>()
    this.ackers.set(digest, ackers.add(this.world.slot(agent).id))
  }

  private onApplied(agent: number, e: Extract<Effect, { type: 'applied' }>, now: number): void {
    const { commit, digest } = e
    this.lastAppliedAt = now
    const first = this.applied.get(commit.epoch)
    if (first === undefined) {
      const holders = new Map<string, string>()
      for (const seat of commit.roster) {
        if (holders.has(seat.role)) {
          this.monitor.violate('uniqueness', `epoch ${commit.epoch} seats ${seat.role} twice`)
        }
        holders.set(seat.role, seat.peerId)
      }
      this.applied.set(commit.epoch, { digest, agent, holders })
    } else if (first.digest !== digest) {
      this.monitor.violate(
        'agreement',
        `agents ${first.agent} and ${agent} applied different rosters under epoch ${commit.epoch} (at ${now.toFixed(0)} ms)`
      )
      for (const seat of commit.roster) {
        const other = first.holders.get(seat.role)
        if (other !== undefined && other !== seat.peerId) {
          this.monitor.violate(
            'uniqueness',
            `${seat.role} held by ${other} and by ${seat.peerId} under epoch ${commit.epoch}`
          )
        }
      }
    }
    if (!e.published) return
    this.commits.push({ agent, epoch: commit.epoch, at: now })
    const ackers = this.ackers.get(digest) ?? new Set<string>()
    const real = commit.acks.filter(a => commit.base.includes(a) && ackers.has(a))
    if (real.length * 2 <= commit.base.length) {
      this.monitor.violate(
        'majority',
        `agent ${agent} committed epoch ${commit.epoch} on ${real.length} acknowledgements of a base of ${commit.base.length}`
      )
    }
  }

  /** Whether a strict majority of `members` is running. */
  majorityRuns(members: string[]): boolean {
    const running = members.filter(m => {
      const i = this.world.indexOf(m)
      return i !== undefined && this.world.slot(i).up
    })
    return running.length * 2 > members.length
  }

  /** Every running agent at one epoch, with every core seat held by a running agent. */
  settled(): boolean {
    return this.divergence() === undefined
  }

  /** Why the council has not settled, or undefined when it has. */
  divergence(): string | undefined {
    const up = this.world.agents.filter(s => s.up && s.council !== undefined)
    if (up.length === 0) return undefined
    // A formation the opener failed: settled once every running agent knows.
    if (up.every(s => s.council?.state === 'failed')) return undefined
    const epochs = new Set(up.map(s => s.council?.epoch))
    if (epochs.size > 1) return `running agents are at epochs ${[...epochs].sort().join(', ')}`
    const c = up[0]?.council
    if (c === undefined || c.epoch === 0) return 'nothing committed'
    // Without a running majority of the committed members nothing can commit: safety forbids it.
    if (!this.majorityRuns(c.members)) return undefined
    const held = c.d.coreRoles.filter(role => {
      const seat = c.roster.find(s => s.role === role)
      const holder = seat === undefined ? undefined : this.world.indexOf(seat.peerId)
      return holder !== undefined && this.world.slot(holder).up
    })
    // As many core seats held as the running agents' roles allow (some roles may have no running claimant).
    const spec = this.world.council
    const running = this.world.agents.filter(s => s.up)
    const possible =
      spec === undefined
        ? c.d.coreRoles.length
        : c.d.coreRoles.length -
          assignRoster({
            councilId: c.d.id,
            coreRoles: c.d.coreRoles,
            optionalRoles: [],
            claims: running.map(s => ({ peerId: s.id, name: s.id, roles: spec.roles(s.index), load: 0 })),
            maxRolesPerAgent: c.d.maxRolesPerAgent
          }).unfilled.length
    if (held.length < possible) {
      const lost = c.d.coreRoles.filter(r => !held.includes(r))
      return `core role ${lost.join(', ')} is not held by a running agent, though ${possible} of ${c.d.coreRoles.length} could be`
    }
    return undefined
  }
}
