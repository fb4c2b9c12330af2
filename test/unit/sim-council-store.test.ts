import { describe, expect, it } from 'vitest'
import { SimCouncilStore } from '../../src/simulate/council-store.js'

const state = (promised: number): { promised: number; proposed: number } => ({ promised, proposed: 0 })

describe("the simulator's council store (writes as the service's store does)", () => {
  it('keeps a durable save across a crash at once, and a delayed one only once it was written', () => {
    const store = new SimCouncilStore()
    store.save(state(1), true, 0)
    // Not synced: written a second after the first waiting save, with every later one.
    store.save(state(2), false, 100)
    store.save(state(3), false, 600)
    expect(store.crash(1_099)).toEqual(state(1))
    // After a crash, the restarted agent finds what was on disk, and saves anew.
    store.save(state(4), false, 2_000)
    store.save(state(5), false, 2_500)
    expect(store.crash(3_000)).toEqual(state(5))
    // A durable save writes what waited too.
    store.save(state(6), false, 4_000)
    store.save(state(7), true, 4_100)
    expect(store.crash(4_200)).toEqual(state(7))
  })

  it('writes the state as it was when the delayed write fell due, not later changes', () => {
    const store = new SimCouncilStore()
    store.save(state(1), false, 0)
    // Due at 1,000 with state 1; the next save comes after that and waits again.
    store.save(state(2), false, 1_500)
    expect(store.crash(1_600)).toEqual(state(1))
  })
})
