import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { decodeJson, MAX_JSON_DEPTH, nestsDeeperThan } from '../../src/util/json.js'

const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth)

describe('JSON nesting guard', () => {
  it('counts arrays and objects, not brackets inside strings', () => {
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH))).toBe(false)
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH + 1))).toBe(true)
    expect(nestsDeeperThan(JSON.stringify({ a: '['.repeat(1_000) + '"\\\\' }), 3)).toBe(false)
    expect(nestsDeeperThan('{"a":{"b":{"c":1}}}', 2)).toBe(true)
    expect(nestsDeeperThan('[[],[],[]]', 2)).toBe(false)
  })

  it('refuses a network message nested 5,000 deep without throwing', () => {
    const bytes = new TextEncoder().encode(`{"input":${nested(5_000)}}`)
    expect(decodeJson(bytes, z.object({ input: z.unknown() }))).toBeUndefined()
    expect(decodeJson(new TextEncoder().encode('{"input":[[1]]}'), z.object({ input: z.unknown() }))).toEqual({ input: [[1]] })
  })
})
