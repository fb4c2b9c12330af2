import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { makeDirectory } from '../../src/util/fs.js'

let base: string | undefined
afterEach(async () => {
  if (base !== undefined) await rm(base, { recursive: true, force: true })
  base = undefined
})

describe('makeDirectory', () => {
  it('makes sibling directories under a missing parent concurrently (replicas starting together)', async () => {
    base = await mkdtemp(join(tmpdir(), 'conclave-mkdir-'))
    const root = base
    for (let round = 0; round < 5; round++) {
      const dirs = Array.from({ length: 30 }, (_, i) => join(root, `round-${round}`, 'shared', 'parent', `agent-${i}`))
      const results = await Promise.allSettled(
        dirs.map(async dir => {
          await makeDirectory(dir)
        })
      )
      expect(results.filter(r => r.status === 'rejected')).toEqual([])
      for (const dir of dirs) expect((await stat(dir)).isDirectory()).toBe(true)
    }
  })

  it('refuses a path whose component is a file, naming ENOTDIR', async () => {
    base = await mkdtemp(join(tmpdir(), 'conclave-mkdir-'))
    await writeFile(join(base, 'file'), '')
    await expect(makeDirectory(join(base, 'file'))).rejects.toMatchObject({ code: 'ENOTDIR' })
  })
})
