import { MAX_HEARTBEAT_MS } from './constants.js'
import { z } from 'zod'
import { credentialSchema, tenantStateSchema } from '../tenancy/index.js'

const signed = { record: z.string().min(1).max(8192), sig: z.string().min(1).max(256) }

/** Messages on the presence topic. `from` of the gossip message (StrictSign) is the sender. */
export const presenceMessageSchema = z.discriminatedUnion('type', [
  /** Heartbeat: the sender's own signed record, its sequence and the interval it promises. */
  z.object({
    type: z.literal('alive'),
    ...signed,
    seq: z.number().int().nonnegative(),
    intervalMs: z.number().int().positive().max(MAX_HEARTBEAT_MS)
  }),
  /**
   * Heartbeat without the record: the sender's incarnation and a reference to the record it sent
   * before (`recordRef`). About a fifth of an `alive` on the wire; see `FULL_RECORD_EVERY`.
   */
  z.object({
    type: z.literal('beat'),
    incarnation: z.number().int().nonnegative(),
    ref: z.string().min(1).max(64),
    seq: z.number().int().nonnegative(),
    intervalMs: z.number().int().positive().max(MAX_HEARTBEAT_MS)
  }),
  /** The sender could not reach `peerId` (incarnation as known): it is suspect until it refutes. */
  z.object({
    type: z.literal('suspect'),
    peerId: z.string().min(1).max(128),
    incarnation: z.number().int().nonnegative()
  }),
  /** The sender is leaving gracefully. */
  z.object({
    type: z.literal('leave'),
    peerId: z.string().min(1).max(128),
    incarnation: z.number().int().nonnegative()
  })
])
export type PresenceMessage = z.infer<typeof presenceMessageSchema>

/**
 * A sync snapshot of one tenant's view: the alive members (each a signed record and how long ago
 * the sender last heard of it), and the members the sender holds suspect, dead or left, with
 * the incarnation it knows (absent from agents of earlier versions).
 */
export const syncSnapshotSchema = z.object({
  tenant: z.string().min(1).max(64),
  members: z
    .array(
      z.object({
        ...signed,
        ageMs: z.number().int().nonnegative(),
        intervalMs: z.number().int().positive().max(MAX_HEARTBEAT_MS)
      })
    )
    .max(10_000),
  down: z
    .array(z.object({ peerId: z.string().min(1).max(128), incarnation: z.number().int().nonnegative() }))
    .max(10_000)
    .optional()
})
export type SyncSnapshot = z.infer<typeof syncSnapshotSchema>

export { encodeJson, decodeJson } from '../util/json.js'

/** Indirect probe request (SWIM's ping-req): "ping `target` for me". */
export const probeRequestSchema = z.object({
  target: z.string().min(1).max(128),
  timeoutMs: z.number().int().positive().max(60_000).optional()
})
/** Its answer: whether the helper's own ping of the target was answered. */
export const probeReplySchema = z.object({ ok: z.boolean() })

/**
 * One message of the sync exchange (`SYNC_PROTOCOL`): the dialler introduces itself (its tenants,
 * credentials and tenant states, no snapshots), the listener answers with its introduction and
 * its snapshots of the tenants both share, and the dialler sends its snapshots.
 */
export const syncMessageSchema = z.object({
  tenants: z.array(z.string().max(64)).max(64).optional(),
  snapshots: z.array(syncSnapshotSchema).max(64),
  credentials: z.record(z.string(), credentialSchema).optional(),
  states: z.record(z.string(), tenantStateSchema).optional()
})
export type SyncMessage = z.infer<typeof syncMessageSchema>
