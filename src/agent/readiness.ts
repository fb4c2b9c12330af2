/** How long an agent may hear no gossip at all, while members of its tenants are alive, and still be ready. */
export const GOSSIP_SILENCE_MS = 30_000

/**
 * Why an agent is not ready because its gossip went silent, or undefined. Presence alone brings
 * every agent about `heartbeatBudget` messages a second whatever the mesh size, so half a minute
 * without any while peers are alive means the gossip layer is cut off, even though pings (and so
 * membership probes) still get through.
 */
export function gossipSilence(
  state: { lastGossipInAt: number; startedAt: number; alivePeers: number },
  now: number,
  silenceMs = GOSSIP_SILENCE_MS
): string | undefined {
  if (state.alivePeers === 0) return undefined
  const since = Math.max(state.lastGossipInAt, state.startedAt)
  if (now - since <= silenceMs) return undefined
  return `no gossip received for ${Math.round((now - since) / 1000)} s while ${state.alivePeers} peers are alive`
}
