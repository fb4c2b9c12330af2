import type { Agent } from '../../src/agent/index.js'
import { meshPeers } from '../../src/node/gossip.js'

/** Every presence topic's gossip mesh connects all the agents subscribed to it. */
export function presenceMeshesConnected (agents: Agent[]): boolean {
  const topics = new Set(agents.flatMap(a => a.membership.topics))
  return [...topics].every(topic => meshConnected(agents.filter(b => b.membership.topics.includes(topic)), topic))
}

/**
 * The gossipsub mesh links of `topic` connect every agent in `agents`: a message published by any
 * of them reaches all the others by mesh forwarding, without waiting for gossip rounds. Agents
 * are not all directly connected (each dials up to its cap), so that is the condition to wait on.
 */
export function meshConnected (agents: Agent[], topic: string): boolean {
  return meshReach(agents, topic) === agents.length
}

/** Agents in `agents` reachable from the first one over the mesh links of `topic`. */
export function meshReach (agents: Agent[], topic: string): number {
  const first = agents[0]
  if (first === undefined) return 0
  const byId = new Map(agents.map(a => [a.peerId, a]))
  const reached = new Set([first.peerId])
  const queue = [first]
  for (let a = queue.pop(); a !== undefined; a = queue.pop()) {
    for (const peer of meshPeers(a.node.services.pubsub, topic)) {
      const next = byId.get(peer)
      if (next === undefined || reached.has(peer)) continue
      reached.add(peer)
      queue.push(next)
    }
  }
  return reached.size
}
