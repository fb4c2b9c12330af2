import type { Agent } from '../../src/agent/index.js'

/** Every agent knows every other agent of the same tenant as a subscriber of its presence topics. */
export function subscriptionsComplete (agents: Agent[]): boolean {
  return agents.every(a => a.membership.topics.every(topic => topicSubscribed(agents.filter(b => b.membership.topics.includes(topic)), topic)))
}

/** Every agent in `agents` knows every other one as a subscriber of `topic`. */
export function topicSubscribed (agents: Agent[], topic: string): boolean {
  return agents.every(a => {
    const subs = new Set(a.node.services.pubsub.getSubscribers(topic).map(String))
    return agents.every(b => b === a || subs.has(b.peerId))
  })
}
