import type { Agent } from '../../src/agent/index.js'

/** How many messages `agent` rejected for `reason` (on any channel, or on `channel`). */
export async function rejected(agent: Agent, reason: string, channel?: string): Promise<number> {
  const metric = await agent.metrics.registry.getSingleMetric('conclave_gossip_rejected_total')?.get()
  return (metric?.values ?? [])
    .filter(v => v.labels.reason === reason && (channel === undefined || v.labels.channel === channel))
    .reduce((sum, v) => sum + v.value, 0)
}
