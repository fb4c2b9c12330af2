/**
 * How long an agent may go without evidence that its gossip layer works, while members of its
 * tenants are alive, and still be ready.
 */
export const GOSSIP_SILENCE_MS = 30_000

/**
 * Why an agent is not ready because its gossip layer is cut off, or undefined. An idle mesh
 * publishes almost nothing (presence rides on probes, heartbeats come about once a minute), so
 * silence alone proves nothing; the evidence that gossip works is a message received, or a
 * connected peer subscribed to each of the agent's tenant topics (`lastEvidenceAt`, whichever came
 * last). Half a minute without either while members are alive means the gossip layer is cut off,
 * even though pings (and so membership probes) still get through.
 */
export function gossipCutOff(
  state: { lastEvidenceAt: number; startedAt: number; alivePeers: number },
  now: number,
  windowMs = GOSSIP_SILENCE_MS
): string | undefined {
  if (state.alivePeers === 0) return undefined
  const since = Math.max(state.lastEvidenceAt, state.startedAt)
  if (now - since <= windowMs) return undefined
  return `no gossip peer and no gossip received for ${Math.round((now - since) / 1000)} s while ${state.alivePeers} peers are alive`
}
