import { createReadStream, createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { episodeSchema, type Episode } from './episode.js'
import { EpisodeError } from './errors.js'

/** Write episodes as JSON lines (a backup `readEpisodesJsonl` restores); resolves to the count. */
export async function writeEpisodesJsonl(episodes: Iterable<Episode>, path: string): Promise<number> {
  const out = createWriteStream(path, { mode: 0o600 })
  let count = 0
  try {
    for (const e of episodes) {
      if (!out.write(`${JSON.stringify(e)}\n`)) await once(out, 'drain')
      count++
    }
  } finally {
    out.end()
    await once(out, 'close')
  }
  return count
}

/**
 * Read a JSON-lines backup. Every line must be a valid episode: the first bad one is reported
 * as `EpisodeError` naming the line, and nothing is returned (a restore is all or nothing).
 */
export async function readEpisodesJsonl(path: string): Promise<Episode[]> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity })
  const episodes: Episode[] = []
  let n = 0
  for await (const line of lines) {
    n++
    if (line.trim() === '') continue
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      throw new EpisodeError(`line ${n}`, 'not JSON')
    }
    const parsed = episodeSchema.safeParse(value)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      throw new EpisodeError(`line ${n}`, `${issue?.path.join('.') || 'episode'}: ${issue?.message ?? 'invalid'}`)
    }
    episodes.push(parsed.data)
  }
  return episodes
}
