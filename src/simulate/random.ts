/**
 * Seeded randomness for the simulator: sfc32, seeded through splitmix32. Every stream of random
 * numbers in a run (the network's, each agent's, the scenario's) derives from the run's seed, so
 * that a seed replays a run exactly.
 */

function splitmix32(state: number): () => number {
  let s = state >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

/** A generator of uniform numbers in [0, 1) from `seed`. */
export function prng(seed: number): () => number {
  const init = splitmix32(seed)
  let a = init()
  let b = init()
  let c = init()
  let d = init()
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = ((c << 21) | (c >>> 11)) >>> 0
    c = (c + t) >>> 0
    return t / 4294967296
  }
}

/** A seed for a part of a run (an agent, a trial), from the run's seed and the part's numbers. */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let s = seed >>> 0
  for (const p of parts) s = splitmix32((s ^ Math.imul(p + 1, 0x9e3779b1)) >>> 0)()
  return s
}

/** An integer in [lo, hi]. */
export function between(random: () => number, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1))
}
