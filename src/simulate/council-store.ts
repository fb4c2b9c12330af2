/**
 * What a simulated agent's council store holds on disk, as the service's store keeps it: a durable
 * save is on disk at once; any other is written `SAVE_DELAY_MS` after the first one waiting,
 * together with every later one. A crash loses what was still waiting.
 */
import { councilDefaults } from '../council/index.js'
import type { Persisted } from '../council/core/index.js'

export class SimCouncilStore {
  /** On disk. */
  private disk?: Persisted
  private latest?: Persisted
  private pendingSince = -Infinity

  save(state: Persisted, durable: boolean, now: number): void {
    this.flush(now)
    this.latest = state
    if (durable) {
      this.disk = state
      this.pendingSince = -Infinity
    } else if (this.pendingSince === -Infinity) this.pendingSince = now
  }

  /** The agent crashed at `now`: what it finds on restart. */
  crash(now: number): Persisted | undefined {
    this.flush(now)
    this.latest = this.disk
    this.pendingSince = -Infinity
    return this.disk
  }

  get onDisk(): Persisted | undefined {
    return this.disk
  }

  /** The delayed write that fell due by `now`, made with the state it had then. */
  private flush(now: number): void {
    if (this.pendingSince !== -Infinity && now >= this.pendingSince + councilDefaults.SAVE_DELAY_MS) {
      this.disk = this.latest
      this.pendingSince = -Infinity
    }
  }
}
