import { fromString, toString } from 'uint8arrays'
import type { z } from 'zod'

/** Deepest nesting of arrays and objects accepted in JSON from outside (bodies, messages). */
export const MAX_JSON_DEPTH = 128

/**
 * Whether a parsed JSON value nests arrays and objects deeper than `max`, walked without
 * recursion. `JSON.parse` takes any depth, but `JSON.stringify` overflows the stack near 5,000
 * levels: a deep value accepted from a client or a peer would fail later, wherever it is written
 * out again. Schemas check it on the fields that carry arbitrary JSON (task inputs and outputs,
 * episode data), so fixed-shape messages pay nothing.
 */
export function nestsDeeper(value: unknown, max = MAX_JSON_DEPTH): boolean {
  if (typeof value !== 'object' || value === null) return false
  const stack: unknown[] = [value]
  const depths: number[] = [1]
  while (stack.length > 0) {
    const v = stack.pop() as object
    const depth = depths.pop() as number
    if (depth > max) return true
    for (const item of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof item === 'object' && item !== null) {
        stack.push(item)
        depths.push(depth + 1)
      }
    }
  }
  return false
}

/** A refinement for schema fields of arbitrary JSON: at most `MAX_JSON_DEPTH` levels deep. */
export const boundedDepth = [
  (v: unknown): boolean => !nestsDeeper(v),
  { message: `nests deeper than ${MAX_JSON_DEPTH} levels`, abort: true }
] as const

export function encodeJson(value: unknown): Uint8Array {
  return fromString(JSON.stringify(value))
}

/** Parse bytes as JSON against a schema; undefined when it is not valid (never throws). */
export function decodeJson<T>(bytes: Uint8Array, schema: z.ZodType<T>): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(toString(bytes)))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}
