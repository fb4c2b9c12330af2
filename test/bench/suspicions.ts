import type { Agent } from '../../src/agent/index.js'

/** Count, per peer, the times `agent` marks it suspect (the council bench reports false suspicions). */
export function countSuspicions(agent: Agent, counts: Record<string, number>): void {
  agent.membership.onChange(change => {
    if (change.state === 'suspect') counts[change.peerId] = (counts[change.peerId] ?? 0) + 1
  })
}
