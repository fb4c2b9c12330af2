import type { Agent } from '../../src/agent/index.js'
import { gossipScore, meshPeers, prunedBy } from '../../src/node/gossip.js'

/** Every presence topic's gossip mesh connects all the agents subscribed to it. */
export function presenceMeshesConnected(agents: Agent[]): boolean {
  const topics = new Set(agents.flatMap(a => a.membership.topics))
  return [...topics].every(topic =>
    meshConnected(
      agents.filter(b => b.membership.topics.includes(topic)),
      topic
    )
  )
}

/**
 * The gossipsub mesh links of `topic` connect every agent in `agents`: a message published by any
 * of them reaches all the others by mesh forwarding, without waiting for gossip rounds. Agents
 * are not all directly connected (each dials up to its cap), so that is the condition to wait on.
 */
export function meshConnected(agents: Agent[], topic: string): boolean {
  return meshReach(agents, topic) === agents.length
}

/** Agents in `agents` reachable from the first one over the mesh links of `topic`. */
export function meshReach(agents: Agent[], topic: string): number {
  return reachedOverMesh(agents, topic).size
}

/**
 * What a failure needs to be told apart: for each agent the mesh of `topic` does not reach from
 * the first, its own mesh peers, its connections, whose subscriptions it heard and who heard its,
 * the peers it holds in backoff (they pruned it) and the lowest score its connected peers give it
 * (below 0, they refuse its grafts).
 */
export function unreachedOverMesh(agents: Agent[], topic: string): string {
  const reached = reachedOverMesh(agents, topic)
  const name = new Map(agents.map(a => [a.peerId, a.config.name]))
  return agents
    .filter(a => !reached.has(a.peerId))
    .map(a => {
      const connected = agents.filter(b => b !== a && b.node.getConnections(a.node.peerId).length > 0)
      const scores = connected.map(b => gossipScore(b.node.services.pubsub, a.peerId))
      const inBackoff = prunedBy(a.node.services.pubsub, topic).length
      // Gossipsub grafts only peers whose subscriptions it heard: a stream that failed to open hides them.
      const knowsSubscribed = a.node.services.pubsub.getSubscribers(topic).length
      const knownSubscribed = connected.filter(b =>
        b.node.services.pubsub.getSubscribers(topic).some(p => p.equals(a.node.peerId))
      ).length
      // A peer whose mesh is full (Dhi) refuses grafts over connections it did not dial.
      const peers = connected.map(
        b =>
          `${meshPeers(b.node.services.pubsub, topic).length}${b.node.getConnections(a.node.peerId).some(c => c.direction === 'outbound') ? 'o' : 'i'}`
      )
      return `${a.config.name}: mesh [${meshPeers(a.node.services.pubsub, topic)
        .map(p => name.get(p) ?? p)
        .join(
          ' '
        )}], connected to ${connected.length} (their mesh sizes, o: they dialled: ${peers.join(' ')}), sees ${knowsSubscribed} subscribed, seen subscribed by ${knownSubscribed}, ${inBackoff} in backoff, lowest score ${Math.min(...scores).toFixed(2)}`
    })
    .join('; ')
}

function reachedOverMesh(agents: Agent[], topic: string): Set<string> {
  const first = agents[0]
  if (first === undefined) return new Set()
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
  return reached
}
