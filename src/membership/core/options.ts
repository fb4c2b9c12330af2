/**
 * Tuning of the membership core. Defaults follow memberlist's LAN configuration, whose figures are
 * justified by its authors' measurements (SWIM, Lifeguard): one probe per member per protocol
 * period, whatever the size of the mesh.
 */
export interface CoreOptions {
  /**
   * One member is probed this often (SWIM's protocol period), stretched by local health.
   *
   * @default 1000
   */
  probeIntervalMs: number
  /**
   * Time an ack may take before helpers are asked to probe indirectly, stretched by local health.
   *
   * @default 500
   */
  probeTimeoutMs: number
  /**
   * Members asked to probe a member that did not answer a direct ping.
   *
   * @default 3
   */
  indirectChecks: number
  /**
   * Suspicion lasts at least this many protocol periods × log10(members) before a suspect is dead.
   *
   * @default 4
   */
  suspicionMult: number
  /**
   * Without confirmations from other members, suspicion lasts this many times its least length.
   *
   * @default 6
   */
  suspicionMaxTimeoutMult: number
  /**
   * Each update is piggybacked this many times × log10(members + 1).
   *
   * @default 4
   */
  retransmitMult: number
  /**
   * While news is queued, it is also sent to `gossipNodes` members this often.
   *
   * @default 200
   */
  gossipIntervalMs: number
  /**
   * Members news is sent to per gossip round.
   *
   * @default 3
   */
  gossipNodes: number
  /**
   * Dead members are still sent news this long, so that one that was only cut off learns it and refutes.
   *
   * @default 30000
   */
  gossipToTheDeadMs: number
  /**
   * Push-pull with one random live member this often, stretched once the mesh passes 32 members.
   *
   * @default 30000
   */
  pushPullIntervalMs: number
  /**
   * One random dead member is contacted this often (Serf's reconnect): two sides of a long
   * partition find each other again after it heals.
   *
   * @default 30000
   */
  reconnectIntervalMs: number
  /**
   * Dead and left members are forgotten after this long.
   *
   * @default 600000
   */
  retentionMs: number
  /**
   * Ceiling of Lifeguard's local health multiplier.
   *
   * @default 8
   */
  awarenessMax: number
  /**
   * Most updates carried by one message.
   *
   * @default 16
   */
  maxUpdatesPerMessage: number
  /**
   * A peer discovery reports again is contacted at most this often.
   *
   * @default 30000
   */
  contactIntervalMs: number
}

export const DEFAULT_CORE_OPTIONS: Readonly<CoreOptions> = Object.freeze({
  probeIntervalMs: 1_000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  retransmitMult: 4,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  gossipToTheDeadMs: 30_000,
  pushPullIntervalMs: 30_000,
  reconnectIntervalMs: 30_000,
  retentionMs: 600_000,
  awarenessMax: 8,
  maxUpdatesPerMessage: 16,
  contactIntervalMs: 30_000
})

/** Push-pull interval for `n` members: memberlist's scale, one more step per doubling past 32. */
export function pushPullInterval(base: number, n: number): number {
  if (n <= 32) return base
  return base * (Math.ceil(Math.log2(n) - Math.log2(32)) + 1)
}

/** Transmissions of one update for `n` members. */
export function retransmitLimit(mult: number, n: number): number {
  return mult * Math.ceil(Math.log10(n + 1))
}
