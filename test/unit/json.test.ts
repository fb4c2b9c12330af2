import { describe, expect, it } from 'vitest'
import { episodeSchema } from '../../src/memory/index.js'
import { taskMessageSchema, taskRequestSchema } from '../../src/task/messages.js'
import { decodeJson, MAX_JSON_DEPTH, nestsDeeper } from '../../src/util/json.js'

const nested = (depth: number): unknown => JSON.parse('['.repeat(depth) + ']'.repeat(depth))

describe('JSON nesting guard', () => {
  it('measures arrays and objects, not the text inside strings', () => {
    expect(nestsDeeper(nested(MAX_JSON_DEPTH))).toBe(false)
    expect(nestsDeeper(nested(MAX_JSON_DEPTH + 1))).toBe(true)
    expect(nestsDeeper({ a: '['.repeat(1_000) }, 1)).toBe(false)
    expect(nestsDeeper({ a: { b: { c: 1 } } }, 2)).toBe(true)
    expect(nestsDeeper([[], [], []], 2)).toBe(false)
    expect(nestsDeeper('text')).toBe(false)
    // What the guard is for: JSON.stringify overflows the stack on such a value.
    expect(() => JSON.stringify(nested(5_000))).toThrow(/call stack/)
  })

  it('refuses arbitrary JSON nested 5,000 deep wherever a schema takes it, without throwing', () => {
    const deep = nested(5_000)
    expect(taskRequestSchema.safeParse({ role: 'coder', input: deep }).error?.issues[0]?.message).toBe(
      `nests deeper than ${MAX_JSON_DEPTH} levels`
    )
    const spec = { id: 't1', council: 'c1', role: 'coder', timeoutMs: 1_000, submittedAt: 1, submittedBy: 'p' }
    const bytes = new TextEncoder().encode(
      `{"type":"submit","task":${JSON.stringify({ ...spec, input: 'x' }).replace('"x"', '['.repeat(5_000) + ']'.repeat(5_000))}}`
    )
    expect(decodeJson(bytes, taskMessageSchema)).toBeUndefined()
    expect(
      decodeJson(
        new TextEncoder().encode(JSON.stringify({ type: 'submit', task: { ...spec, input: [[1]] } })),
        taskMessageSchema
      )
    ).toMatchObject({ task: { input: [[1]] } })
    const episode = {
      id: 'ab12cd34-1',
      tenant: 'acme',
      origin: 'ab12cd34',
      seq: 1,
      council: null,
      task: null,
      agent: 'a',
      role: null,
      summary: 's',
      reward: null,
      ts: 1,
      data: deep
    }
    expect(episodeSchema.safeParse(episode).error?.issues[0]?.message).toBe(
      `nests deeper than ${MAX_JSON_DEPTH} levels`
    )
  })
})
