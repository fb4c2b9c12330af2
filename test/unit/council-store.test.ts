import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fileCouncilStore } from '../../src/council/index.js'
import type { SavedCouncil } from '../../src/council/index.js'

/** A saved council whose promise is `promised` (the field a restart must not lose). */
const council = (promised: number): SavedCouncil => ({
  d: { id: 'c-1', tenant: 't', project: 'p', coreRoles: ['tpm'], optionalRoles: [], claimWindowMs: 1_000, ttlMs: 60_000, maxRolesPerAgent: 1, createdAt: 1, opener: '12D3KooWopener' },
  promised,
  proposed: promised,
  claims: []
})

describe('the council store', () => {
  let dir: string
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'council-store-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  const promisedOnDisk = async (path: string): Promise<number> => JSON.parse(await readFile(path, 'utf8')).councils[0].promised

  it('a save resolves once the file holds the state of when its write began, durable or not, and load reads it back', async () => {
    const path = join(dir, 'councils.json')
    const store = fileCouncilStore(path, pino({ level: 'silent' }))
    await store.save(() => [council(3)], true)
    expect(await promisedOnDisk(path)).toBe(3)
    await store.save(() => [council(4)])
    expect(await promisedOnDisk(path)).toBe(4)
    expect(fileCouncilStore(path, pino({ level: 'silent' })).load()).toEqual([council(4)])
  })

  it('saves asked for during a write join one next write, which saves the latest state; each resolves only once that is written', async () => {
    const path = join(dir, 'councils.json')
    const store = fileCouncilStore(path, pino({ level: 'silent' }))
    let state = 1
    let snapshots = 0
    const snapshot = (): SavedCouncil[] => { snapshots++; return [council(state)] }
    const first = store.save(snapshot)
    // The first write has begun: its snapshot is taken.
    await new Promise(resolve => setImmediate(resolve))
    expect(snapshots).toBe(1)
    const later: Array<Promise<void>> = []
    for (let i = 0; i < 10; i++) {
      state++
      later.push(store.save(snapshot, i === 5))
    }
    await first
    await Promise.all(later)
    // One write for the first save, one for the ten after it.
    expect(snapshots).toBe(2)
    expect(await promisedOnDisk(path)).toBe(11)
  })

  it('a write that fails is logged, and the save still resolves: the agent goes on', async () => {
    const lines: string[] = []
    const store = fileCouncilStore(join(dir, 'missing-dir', 'councils.json'), pino({ level: 'error' }, { write: (line: string) => { lines.push(line) } }))
    await expect(store.save(() => [council(1)], true)).resolves.toBeUndefined()
    expect(lines.join('')).toContain('cannot save councils')
    // The next save is not stuck behind the failed one.
    await expect(store.save(() => [council(2)])).resolves.toBeUndefined()
    expect(lines).toHaveLength(2)
  })
})
