import { fromString, toString } from 'uint8arrays'
import type { z } from 'zod'

/** Deepest nesting of arrays and objects accepted in JSON from outside (bodies, messages). */
export const MAX_JSON_DEPTH = 128

/**
 * Whether JSON text nests arrays and objects deeper than `max` (a linear scan that skips
 * strings). Deep input is refused before it reaches code that recurses over it.
 */
export function nestsDeeperThan (text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
    } else if (c === 34) {
      inString = true
    } else if (c === 123 || c === 91) {
      if (++depth > max) return true
    } else if (c === 125 || c === 93) {
      depth--
    }
  }
  return false
}

export function encodeJson (value: unknown): Uint8Array {
  return fromString(JSON.stringify(value))
}

/** Parse bytes as JSON against a schema; undefined when it is not valid (never throws). */
export function decodeJson<T> (bytes: Uint8Array, schema: z.ZodType<T>): T | undefined {
  try {
    const text = toString(bytes)
    if (nestsDeeperThan(text)) return undefined
    const parsed = schema.safeParse(JSON.parse(text))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}
