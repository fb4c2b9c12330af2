import { z } from 'zod'
import { boundedDepth } from '../util/json.js'
import { MAX_TASK_ERROR_CHARS, MAX_TASK_INPUT_BYTES, MAX_TASK_TIMEOUT_MS, MIN_TASK_TIMEOUT_MS } from './constants.js'

const taskId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a task id is 1-64 letters, digits, "_" or "-"')
const role = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a role is lower-case letters, digits and "-"')
const councilId = z.string().min(1).max(128)
const peer = z.string().min(1).max(128)
const timeoutMs = z.number().int().min(MIN_TASK_TIMEOUT_MS).max(MAX_TASK_TIMEOUT_MS)

/** JSON size of a value, for the input and output limits. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '')
}

/** What `POST /v1/councils/:id/tasks` accepts. `id` makes a retried submission idempotent. */
export const taskRequestSchema = z
  .object({
    role,
    input: z
      .unknown()
      .refine(v => v !== undefined, 'required')
      .refine(...boundedDepth)
      .refine(v => jsonBytes(v) <= MAX_TASK_INPUT_BYTES, `exceeds ${MAX_TASK_INPUT_BYTES} bytes as JSON`),
    timeoutMs: timeoutMs.optional(),
    id: taskId.optional()
  })
  .strict()
export type TaskRequest = z.infer<typeof taskRequestSchema>

/** A task as every member of the tenant learns it. */
export const taskSpecSchema = z.object({
  id: taskId,
  council: councilId,
  role,
  input: z.unknown().refine(...boundedDepth),
  timeoutMs,
  submittedAt: z.number().int().nonnegative(),
  submittedBy: peer,
  parent: taskId.optional()
})
export type TaskSpec = z.infer<typeof taskSpecSchema>

/** Task messages on the `task` channel; the envelope's sender is authenticated. */
export const taskMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('submit'), task: taskSpecSchema }),
  /** The sender, holding the role under `epoch`, started attempt `attempt`. */
  z.object({
    type: z.literal('start'),
    id: taskId,
    council: councilId,
    epoch: z.number().int().nonnegative(),
    attempt: z.number().int().positive()
  }),
  /** The sender's result: `ok` with `output`, or not with `error`; `next` is the task it started. */
  z.object({
    type: z.literal('result'),
    id: taskId,
    council: councilId,
    epoch: z.number().int().nonnegative(),
    attempt: z.number().int().positive(),
    ok: z.boolean(),
    output: z
      .unknown()
      .refine(...boundedDepth)
      .optional(),
    error: z.string().max(MAX_TASK_ERROR_CHARS).optional(),
    next: taskId.optional()
  })
])
export type TaskMessage = z.infer<typeof taskMessageSchema>
export type StartMessage = Extract<TaskMessage, { type: 'start' }>
export type ResultMessage = Extract<TaskMessage, { type: 'result' }>
