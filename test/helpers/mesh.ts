import type { Agent } from '../../src/agent/index.js'

/** Every agent knows every other as a subscriber of its presence topics (gossip is wired up). */
export function subscriptionsComplete (agents: Agent[]): boolean {
  return agents.every(a => a.membership.topics.every(topic => {
    const subs = new Set(a.node.services.pubsub.getSubscribers(topic).map(String))
    return agents.every(b => b === a || subs.has(b.peerId))
  }))
}
