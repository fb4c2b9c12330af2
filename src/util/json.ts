import { fromString, toString } from 'uint8arrays'
import type { z } from 'zod'

export function encodeJson (value: unknown): Uint8Array {
  return fromString(JSON.stringify(value))
}

/** Parse bytes as JSON against a schema; undefined when it is not valid (never throws). */
export function decodeJson<T> (bytes: Uint8Array, schema: z.ZodType<T>): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(toString(bytes)))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}
