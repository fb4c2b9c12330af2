/**
 * The simulated network: per-message latency from a model, loss, duplication (and with them,
 * reordering: every copy draws its own delay), symmetric partitions into groups and one-way cuts.
 */

export type LatencyModel = 'lan' | 'wan'

export interface NetworkOptions {
  latency: LatencyModel
  /** Chance that a message is lost. */
  loss: number
  /** Chance that a message arrives twice. */
  duplicate: number
}

export class Network {
  private groups = new Map<number, number>()
  private oneWay: { from: Set<number>; to: Set<number> } | undefined

  constructor(
    private readonly o: NetworkOptions,
    private readonly random: () => number
  ) {}

  /** Split the agents into groups that cannot reach each other (agents not named form one more group). */
  partition(groups: number[][]): void {
    this.groups = new Map()
    groups.forEach((g, i) => {
      for (const a of g) this.groups.set(a, i + 1)
    })
  }

  /** Messages from `from` to `to` are lost; the other way works. */
  cutOneWay(from: number[], to: number[]): void {
    this.oneWay = { from: new Set(from), to: new Set(to) }
  }

  heal(): void {
    this.groups = new Map()
    this.oneWay = undefined
  }

  get faulty(): boolean {
    return this.groups.size > 0 || this.oneWay !== undefined
  }

  /** Whether a message from `a` can reach `b` at all (ignoring loss). */
  reaches(a: number, b: number): boolean {
    if ((this.groups.get(a) ?? 0) !== (this.groups.get(b) ?? 0)) return false
    const w = this.oneWay
    return w === undefined || !(w.from.has(a) && w.to.has(b))
  }

  /** The delays of the copies of one message from `a` to `b`: none when it is lost. */
  copies(a: number, b: number): number[] {
    if (!this.reaches(a, b) || (this.o.loss > 0 && this.random() < this.o.loss)) return []
    const first = this.delay(a, b)
    if (this.o.duplicate > 0 && this.random() < this.o.duplicate) return [first, this.delay(a, b)]
    return [first]
  }

  /** One-way delay in ms: LAN 0.1-1 ms; WAN 20-150 ms by pair of agents, with 10% jitter. */
  private delay(a: number, b: number): number {
    if (this.o.latency === 'lan') return 0.1 + this.random() * 0.9
    const lo = Math.min(a, b)
    const hi = Math.max(a, b)
    const base = 20 + ((Math.imul(lo * 7919 + hi * 104729, 0x9e3779b1) >>> 0) % 131)
    return base * (0.9 + 0.2 * this.random())
  }
}
