import { describe, expect, it } from 'vitest'
import { within } from '../../src/util/deadline.js'

const after = async <T>(ms: number, value: T): Promise<T> =>
  await new Promise(resolve =>
    setTimeout(() => {
      resolve(value)
    }, ms)
  )

describe('within', () => {
  it("gives the promise's value when it settles in time, and its rejection", async () => {
    expect(await within(after(5, 'on time'), 1_000, () => 'late')).toBe('on time')
    await expect(within(Promise.reject(new Error('failed')), 1_000, () => 'late')).rejects.toThrow('failed')
  })

  it('gives what `late` returns, or throws, once the time is up', async () => {
    expect(await within(new Promise<string>(() => {}), 10, () => 'late')).toBe('late')
    await expect(
      within(new Promise<string>(() => {}), 10, () => {
        throw new Error('too slow')
      })
    ).rejects.toThrow('too slow')
  })
})
