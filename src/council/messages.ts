import { z } from 'zod'
import { MAX_ACK_RELAY_HOPS, MAX_ROLES } from './constants.js'

const role = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a role is lower-case letters, digits and "-"')
const id = z.string().min(1).max(128)
const peer = z.string().min(1).max(128)

export const seatSchema = z.object({ role, peerId: peer, name: z.string().max(64) })
export type Seat = z.infer<typeof seatSchema>

/** What `POST /v1/councils` accepts. */
export const openRequestSchema = z
  .object({
    project: z.string().min(1).max(200),
    coreRoles: z.array(role).min(1).max(MAX_ROLES),
    optionalRoles: z.array(role).max(MAX_ROLES).default([]),
    claimWindowMs: z.number().int().min(10).max(600_000).optional(),
    ttlMs: z
      .number()
      .int()
      .min(1_000)
      .max(365 * 86_400_000)
      .optional(),
    maxRolesPerAgent: z.number().int().min(1).max(MAX_ROLES).optional(),
    /** Tenant to open it in, when the agent belongs to several. */
    tenant: z.string().min(1).max(64).optional()
  })
  .strict()
export type OpenRequest = z.infer<typeof openRequestSchema>

const members = z.array(peer).max(10_000)

/** A claim as an agent announces it, and as proposals and commits carry it for each member. */
export const claimSchema = z.object({
  peerId: peer,
  name: z.string().max(64),
  roles: z.array(role).max(MAX_ROLES),
  load: z.number().int().nonnegative()
})
/**
 * The claims of an epoch's members. A coordinator that takes over assigns seats from them: the
 * claims themselves may never have reached it (a claim that arrived before the open is not kept,
 * and claims stop repeating once a commit counts the claimant), and a standby it knew only as a
 * member could not be given the seat it is there for. Optional: commits saved by earlier versions
 * have none.
 */
const memberClaims = z.array(claimSchema).max(10_000).optional()

/** What every member knows of a council: travels with open, propose and commit, so a late joiner learns it from any of them. */
export const descriptorSchema = z.object({
  id,
  tenant: z.string().min(1).max(64),
  project: z.string().min(1).max(200),
  coreRoles: z.array(role).min(1).max(MAX_ROLES),
  optionalRoles: z.array(role).max(MAX_ROLES),
  claimWindowMs: z.number().int().nonnegative(),
  ttlMs: z.number().int().positive(),
  maxRolesPerAgent: z.number().int().positive(),
  createdAt: z.number().int().nonnegative(),
  /** Who opened it (coordinates the formation); absent for a singleton, which every contender opens. */
  opener: peer.optional(),
  singleton: z.boolean().optional()
})
export type Descriptor = z.infer<typeof descriptorSchema>

/**
 * What a proposal says beyond the council it is for: one shape in a propose, a commit and a
 * handover alike (a field one of them dropped would change its digest, and the acks of it would
 * no longer count). `coordinator` commits it and coordinates its epoch: the proposer, or for a
 * handover the coordinator (a leaver that coordinated commits its own handover; agents then
 * skip it as resigned and take its successor). The acks cover it, so every agent that applies the
 * commit takes the same coordinator, whoever passed the commit on. Optional: earlier versions
 * name none.
 */
const proposalFields = {
  epoch: z.number().int().positive(),
  roster: z.array(seatSchema).max(MAX_ROLES * 4),
  members,
  base: members,
  claims: memberClaims,
  coordinator: peer.optional()
}
const proposalBody = z.object(proposalFields)

const ackSchema = z.object({
  type: z.literal('ack'),
  id,
  epoch: z.number().int().positive(),
  digest: z.string().min(1).max(128),
  sig: z.string().min(1).max(256)
})

/**
 * An ack passed towards the coordinator `to` by agents between it and its `signer`, on
 * `ACK_RELAY_PROTOCOL`, each over a connection it already has. `hops` counts the relays so far.
 */
export const relayedAckSchema = z.object({
  type: z.literal('relayed-ack'),
  to: peer,
  signer: peer,
  hops: z.number().int().min(1).max(MAX_ACK_RELAY_HOPS),
  ack: ackSchema
})
export type RelayedAck = z.infer<typeof relayedAckSchema>

/** Council messages on the `council` channel. The envelope's sender is authenticated. */
export const councilMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('open'), council: descriptorSchema }),
  /** The sender can hold these roles of the council; `load` is how many seats it holds elsewhere. */
  z.object({
    type: z.literal('claim'),
    id,
    roles: z.array(role).max(MAX_ROLES),
    load: z.number().int().nonnegative(),
    name: z.string().max(64)
  }),
  /**
   * The sender withdraws from the council (graceful leave): hand its seat over now. `handover` is
   * the sender's own proposal of the roster without it, which the coordinator takes over.
   */
  z.object({
    type: z.literal('resign'),
    id,
    epoch: z.number().int().nonnegative().optional(),
    handover: proposalBody.optional()
  }),
  /** A coordinator proposes `roster` for `epoch`; `members` acknowledge it, a majority of `base` commits it. */
  z.object({ type: z.literal('propose'), council: descriptorSchema, ...proposalFields }),
  /** A member refusing a proposal because it already promised `promised`: the coordinator retries above it. */
  z.object({ type: z.literal('nack'), id, promised: z.number().int().nonnegative() }),
  /** A member's signed acknowledgement of the proposal with this digest. */
  ackSchema,
  /** The proposal, with the acknowledgements of a majority of `base`: anyone can verify it. */
  z.object({
    type: z.literal('commit'),
    council: descriptorSchema,
    ...proposalFields,
    acks: z.array(z.object({ peerId: peer, sig: z.string().min(1).max(256) })).max(10_000)
  }),
  /** The council ended: dissolved (DELETE or ttl) or failed (a core role without claimant). */
  z.object({ type: z.literal('end'), id, state: z.enum(['dissolved', 'failed']), reason: z.string().max(500) })
])
export type CouncilMessage = z.infer<typeof councilMessageSchema>
export type CommitMessage = Extract<CouncilMessage, { type: 'commit' }>
export type AckMessage = Extract<CouncilMessage, { type: 'ack' }>

const commitSchema = councilMessageSchema.options.find(o => o.shape.type.value === 'commit') as z.ZodType<CommitMessage>

/**
 * What an agent keeps of a council across restarts (`<data dir>/councils.json`): the promise
 * that fences lower epochs, the last commit, and the claims a coordinator assigns seats from.
 */
export const savedCouncilSchema = z.object({
  d: descriptorSchema,
  promised: z.number().int().nonnegative(),
  proposed: z.number().int().nonnegative(),
  lastCommit: commitSchema.optional(),
  claims: z.array(claimSchema).max(10_000),
  coordinator: peer.optional(),
  /** `here`: this agent ended it, and answers members that announce it as if it were not. */
  ended: z
    .object({
      state: z.enum(['dissolved', 'failed']),
      reason: z.string().max(500),
      at: z.number(),
      here: z.boolean().optional()
    })
    .optional(),
  activatedAt: z.number().optional()
})
export type SavedCouncil = z.infer<typeof savedCouncilSchema>
export const savedCouncilsSchema = z.object({ version: z.literal(1), councils: z.array(savedCouncilSchema) })
export type ProposeMessage = Extract<CouncilMessage, { type: 'propose' }>
