import { describe, expect, it } from 'vitest'
import { GOSSIP_MESH_DEGREE } from '../../src/node/constants.js'
import { DEFAULT_MESH, GossipMesh } from '../../src/simulate/gossip.js'
import { prng } from '../../src/simulate/random.js'
import { councilScenario } from '../../src/simulate/scenarios.js'

/** Agents reachable from `from` over mesh links among `running`. */
function reach(mesh: GossipMesh, from: number, running: (j: number) => boolean): number {
  const seen = new Set([from])
  const queue = [from]
  for (let a = queue.pop(); a !== undefined; a = queue.pop()) {
    for (const b of mesh.peers(a)) {
      if (!running(b) || seen.has(b)) continue
      seen.add(b)
      queue.push(b)
    }
  }
  return seen.size
}

describe("the simulator's gossipsub mesh", () => {
  it('has the degree the real configuration uses, stays connected, and regrafts after crashes', () => {
    expect(DEFAULT_MESH).toMatchObject(GOSSIP_MESH_DEGREE)
    const n = 200
    const up = new Array<boolean>(n).fill(false)
    const running = (j: number): boolean => up[j] === true
    const mesh = new GossipMesh(n, prng(7))
    for (let i = 0; i < n; i++) {
      up[i] = true
      mesh.join(i, running)
    }
    const degrees = Array.from({ length: n }, (_, i) => mesh.peers(i).size)
    expect(Math.max(...degrees)).toBeLessThanOrEqual(DEFAULT_MESH.Dhi)
    expect(Math.min(...degrees)).toBeGreaterThanOrEqual(DEFAULT_MESH.Dlo)
    expect(reach(mesh, 0, running)).toBe(n)
    // Links are symmetric, as GRAFT makes them.
    for (let i = 0; i < n; i++) for (const j of mesh.peers(i)) expect(mesh.peers(j).has(i)).toBe(true)
    // A third crashes: nobody keeps a link to a crashed agent, and the rest regraft.
    for (let i = 0; i < n; i += 3) {
      up[i] = false
      mesh.leave(i, running)
    }
    for (let i = 0; i < n; i++) {
      if (!running(i)) {
        expect(mesh.peers(i).size).toBe(0)
        continue
      }
      for (const j of mesh.peers(i)) expect(running(j)).toBe(true)
      expect(mesh.peers(i).size).toBeGreaterThanOrEqual(DEFAULT_MESH.Dlo)
    }
    expect(reach(mesh, 1, running)).toBe(up.filter(Boolean).length)
  })

  it('carries a published council message over several hops, about D copies per agent instead of one from every agent', () => {
    const n = 100
    const hops: Array<{ from: number; to: number; origin: number; id: number }> = []
    const { world } = councilScenario(
      {
        agents: n,
        seed: 11,
        trial: 0,
        network: { latency: 'lan', loss: 0, duplicate: 0 },
        onTrace: line => {
          const m = / g (\d+)>(\d+) (\d+)#(\d+) claim/.exec(line)
          if (m !== null) hops.push({ from: Number(m[1]), to: Number(m[2]), origin: Number(m[3]), id: Number(m[4]) })
        }
      },
      'formation'
    )
    // The first claim: every other agent got it, most through a relay, not from the claimant.
    const first = hops[0] as { origin: number; id: number }
    const origin = first.origin
    const claim = hops.filter(h => h.id === first.id)
    expect(new Set(claim.map(h => h.to)).size).toBe(n - 1)
    expect(claim.filter(h => h.from !== origin).length).toBeGreaterThan(n / 2)
    // Copies per agent per publication, duplicates included: about the mesh degree, not N.
    const copies = world.gossipCopies / (world.gossipPublished * n)
    expect(copies).toBeGreaterThan(1)
    expect(copies).toBeLessThanOrEqual(DEFAULT_MESH.Dhi)
  })
})
