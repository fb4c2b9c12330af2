import { z } from 'zod'
import { isValidTenantId } from '../tenancy/namespace.js'
import { MAX_JSON_DEPTH, nestsDeeper } from '../util/json.js'
import { MAX_DATA_BYTES, MAX_SUMMARY_CHARS } from './constants.js'

const text = (max: number): z.ZodString => z.string().max(max)

/** Extra data a behaviour records must stay small: every member of the tenant keeps a copy. */
function dataFits(e: { data?: unknown }, ctx: z.RefinementCtx): void {
  if (nestsDeeper(e.data)) {
    ctx.addIssue({ code: 'custom', path: ['data'], message: `nests deeper than ${MAX_JSON_DEPTH} levels` })
    return
  }
  if (e.data !== undefined && Buffer.byteLength(JSON.stringify(e.data) ?? '') > MAX_DATA_BYTES) {
    ctx.addIssue({ code: 'custom', path: ['data'], message: `exceeds ${MAX_DATA_BYTES} bytes as JSON` })
  }
}

/**
 * What an agent learned from one piece of work. `origin` is the database that recorded it (a
 * random id per data dir, so an agent restarted on an empty disk never reuses a sequence number)
 * and `seq` its position in that origin's log: anti-entropy compares these.
 */
export const episodeSchema = z
  .object({
    id: text(128).min(1),
    tenant: text(64).min(1).refine(isValidTenantId, 'not a tenant id (a-z, 0-9, ".", "_", "-")'),
    origin: z.string().regex(/^[0-9a-f]{8,64}$/, 'an origin is hex'),
    seq: z.number().int().positive(),
    council: text(128).nullable(),
    task: text(128).nullable(),
    agent: text(128).min(1),
    role: text(64).nullable(),
    summary: text(MAX_SUMMARY_CHARS),
    reward: z.number().finite().nullable(),
    ts: z.number().int().nonnegative(),
    data: z.unknown().optional()
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.id !== episodeId(e.origin, e.seq)) {
      ctx.addIssue({ code: 'custom', path: ['id'], message: 'must be <origin>-<seq>' })
    }
    dataFits(e, ctx)
  })
export type Episode = z.infer<typeof episodeSchema>

/** What a behaviour (or the task runner) gives `record`; the store fills in the rest. */
export const episodeInputSchema = z
  .object({
    council: text(128).nullable().default(null),
    task: text(128).nullable().default(null),
    role: text(64).nullable().default(null),
    summary: text(MAX_SUMMARY_CHARS),
    reward: z.number().finite().nullable().default(null),
    data: z.unknown().optional()
  })
  .strict()
  .superRefine(dataFits)
export type EpisodeInput = z.input<typeof episodeInputSchema>

export function episodeId(origin: string, seq: number): string {
  return `${origin}-${seq}`
}
