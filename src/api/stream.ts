/**
 * Answers written as they are read: a JSON array in chunks of bounded size, each written only
 * when the client took the one before, and cut off when a client stops reading.
 */
import type { Context } from 'hono'
import { stream } from 'hono/streaming'

import { CHUNK_BYTES, SLOW_CLIENT_MS } from './constants.js'
import { DeadlineError } from '../util/errors.js'

/** Resolve with `work`, or reject once `ms` pass. */
export async function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      work,
      new Promise<never>((resolve, reject) => {
        timer = setTimeout(() => {
          reject(new DeadlineError('slow client'))
        }, ms)
      })
    ])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Stream `items` as one JSON array. `onEnd` runs once the answer is written, the client went
 * away, or it was cut off for reading too slowly.
 */
export function jsonArrayStream(
  c: Context,
  items: Iterable<unknown>,
  onEnd: () => void,
  slowClientMs = SLOW_CLIENT_MS
): Response {
  c.header('Content-Type', 'application/json; charset=utf-8')
  return stream(c, async s => {
    try {
      let chunk = '['
      let first = true
      for (const item of items) {
        chunk += (first ? '' : ',') + JSON.stringify(item)
        first = false
        if (chunk.length >= CHUNK_BYTES) {
          await within(s.write(chunk), slowClientMs)
          chunk = ''
          if (s.aborted) return
        }
      }
      await within(s.write(chunk + ']'), slowClientMs)
    } catch {
      s.abort()
    } finally {
      onEnd()
    }
  })
}
