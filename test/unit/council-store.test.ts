import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fileCouncilStore, type SavedCouncil } from '../../src/council/index.js'

/** A saved council whose promise is `promised` (the field a restart must not lose). */
const council = (promised: number): SavedCouncil => ({
  d: {
    id: 'c-1',
    tenant: 't',
    project: 'p',
    coreRoles: ['tpm'],
    optionalRoles: [],
    claimWindowMs: 1_000,
    ttlMs: 60_000,
    maxRolesPerAgent: 1,
    createdAt: 1,
    opener: '12D3KooWopener'
  },
  promised,
  proposed: promised,
  claims: []
})

describe('the council store', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'council-store-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('holds what was saved last, durable or not, with no temporary file left behind; load reads it back', async () => {
    const path = join(dir, 'councils.json')
    const store = fileCouncilStore(path, pino({ level: 'silent' }))
    expect(store.load()).toEqual([])
    store.save([council(3)], true)
    expect(JSON.parse(await readFile(path, 'utf8')).councils[0].promised).toBe(3)
    store.save([council(4)])
    expect(fileCouncilStore(path, pino({ level: 'silent' })).load()).toEqual([council(4)])
    expect(await readdir(dir)).toEqual(['councils.json'])
  })

  it('a write that fails is logged, and the agent goes on; an unreadable file loads as empty, with a warning', async () => {
    const lines: string[] = []
    const logger = pino(
      { level: 'warn' },
      {
        write: (line: string) => {
          lines.push(line)
        }
      }
    )
    const store = fileCouncilStore(join(dir, 'missing-dir', 'councils.json'), logger)
    expect(() => {
      store.save([council(1)], true)
    }).not.toThrow()
    expect(lines.join('')).toContain('cannot save councils')
    const path = join(dir, 'councils.json')
    await writeFile(path, '{"version":1,"councils":[{"promised":"x"}]}')
    expect(fileCouncilStore(path, logger).load()).toEqual([])
    expect(lines.join('')).toContain('saved councils are malformed')
  })
})
