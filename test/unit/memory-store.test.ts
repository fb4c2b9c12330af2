import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { EpisodeStore, type Episode } from '../../src/memory/index.js'

let dir: string
const stores: EpisodeStore[] = []
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conclave-store-'))
})
afterEach(async () => {
  for (const s of stores.splice(0)) s.close()
  await rm(dir, { recursive: true, force: true })
})

function open(name: string, retention = {}): EpisodeStore {
  const store = EpisodeStore.open(join(dir, `${name}.db`), retention)
  stores.push(store)
  return store
}

const fields = (tenant: string, n: number, ts = Date.now()): Omit<Episode, 'id' | 'origin' | 'seq'> => ({
  tenant,
  council: 'c1',
  task: `t${n}`,
  agent: 'peer-a',
  role: 'coder',
  summary: `episode ${n}`,
  reward: n / 10,
  ts
})

/** Copy everything `from` has that `to` lacks, the way a pull does. */
function pull(from: EpisodeStore, to: EpisodeStore, tenant: string): number {
  let n = 0
  for (const frame of from.missing(tenant, to.have(tenant), 7)) {
    for (const [origin, floor] of Object.entries(frame.floors)) to.raiseFloor(tenant, origin, floor)
    n += to.insert(frame.episodes).length
  }
  return n
}

describe('episode store', () => {
  it('numbers its own episodes per tenant and keeps its origin across reopening', () => {
    const a = open('a')
    const e1 = a.append(fields('t1', 1))
    const e2 = a.append(fields('t1', 2))
    const other = a.append(fields('t2', 1))
    expect([e1.seq, e2.seq, other.seq]).toEqual([1, 2, 1])
    expect(e1.id).toBe(`${a.origin}-1`)
    const origin = a.origin
    a.close()
    const again = open('a')
    expect(again.origin).toBe(origin)
    expect(again.append(fields('t1', 3)).seq).toBe(3)
    expect(again.count('t1')).toBe(3)
  })

  it('a pull copies exactly what is missing, in batches, including other origins', () => {
    const a = open('a')
    const b = open('b')
    const c = open('c')
    for (let i = 1; i <= 20; i++) a.append(fields('t1', i))
    for (let i = 1; i <= 5; i++) c.append(fields('t1', i))
    expect(pull(c, a, 't1')).toBe(5)
    expect(pull(a, b, 't1')).toBe(25)
    expect(pull(a, b, 't1')).toBe(0)
    expect(b.have('t1')).toEqual({ [a.origin]: 20, [c.origin]: 5 })
    expect(b.count('t2')).toBe(0)
  })

  it('tracks gaps: a missing sequence number holds the gap-free mark until it arrives', () => {
    const a = open('a')
    const b = open('b')
    const all = Array.from({ length: 5 }, (_, i) => a.append(fields('t1', i + 1)))
    b.insert([all[0] as Episode, all[1] as Episode, all[3] as Episode])
    expect(b.hasGapBefore('t1', a.origin, 5)).toBe(true)
    expect(b.have('t1')[a.origin]).toBe(2)
    expect(pull(a, b, 't1')).toBe(2)
    expect(b.have('t1')[a.origin]).toBe(5)
  })

  it('applies retention by count and age, and a peer stops asking for what retention dropped', () => {
    const a = open('a', { maxEpisodes: 10 })
    const now = Date.now()
    for (let i = 1; i <= 15; i++) a.append(fields('t1', i, now - 1_000 + i))
    expect(a.prune(now)).toBe(5)
    expect(a.count('t1')).toBe(10)
    expect(a.query({ tenants: ['t1'], limit: 1 })[0]?.summary).toBe('episode 15')
    const b = open('b')
    expect(pull(a, b, 't1')).toBe(10)
    expect(b.have('t1')[a.origin]).toBe(15)
    const old = open('old', { maxAgeMs: 60_000 })
    old.append(fields('t1', 1, now - 120_000))
    old.append(fields('t1', 2, now))
    expect(old.prune(now)).toBe(1)
    expect(
      old.insert([{ ...fields('t1', 9, now - 120_000), id: 'ab12cd34-1', origin: 'ab12cd34', seq: 1 }], now)
    ).toEqual([])
  })

  it('filters queries by council, agent, role and time, and reports stats per tenant', () => {
    const a = open('a')
    const now = Date.now()
    a.append({ ...fields('t1', 1, now - 100), role: 'tester' })
    a.append({ ...fields('t1', 2, now - 50), council: 'c2' })
    a.append({ ...fields('t1', 3, now), agent: 'peer-b' })
    expect(a.query({ tenants: ['t1'], role: 'tester' }).map(e => e.summary)).toEqual(['episode 1'])
    expect(a.query({ tenants: ['t1'], council: 'c2' }).map(e => e.summary)).toEqual(['episode 2'])
    expect(a.query({ tenants: ['t1'], agent: 'peer-b' }).map(e => e.summary)).toEqual(['episode 3'])
    expect(a.query({ tenants: ['t1'], since: now - 60 }).map(e => e.summary)).toEqual(['episode 2', 'episode 3'])
    expect(a.query({ tenants: ['t2'] })).toEqual([])
    expect(a.stats(['t1', 't2'])).toEqual([
      { tenant: 't1', episodes: 3, agents: 2, origins: 1, oldestTs: now - 100, newestTs: now },
      { tenant: 't2', episodes: 0, agents: 0, origins: 0, oldestTs: null, newestTs: null }
    ])
  })

  it('refuses a database it cannot open with MemoryStoreError', () => {
    expect(() => EpisodeStore.open(join(dir, 'missing-dir', 'x.db'))).toThrow(
      expect.objectContaining({ name: 'MemoryStoreError' })
    )
  })
})

describe('episodes of several tenants', () => {
  it('keeps every episode of an agent in two tenants, whose sequence numbers (and ids) repeat', () => {
    const a = open('two')
    for (let i = 1; i <= 5; i++) {
      a.append(fields('acme', i))
      a.append(fields('globex', i))
    }
    expect(a.count('acme')).toBe(5)
    expect(a.count('globex')).toBe(5)
    expect(a.query({ tenants: ['globex'], limit: 100 }).map(e => e.seq)).toEqual([1, 2, 3, 4, 5])
    // A peer of one tenant pulls all of it.
    const b = open('peer')
    expect(pull(a, b, 'globex')).toBe(5)
    // Retention per tenant drops one tenant's oldest, never the other's namesake.
    const small = EpisodeStore.open(join(dir, 'two.db'), { maxEpisodes: 3 })
    stores.push(small)
    small.prune()
    expect([small.count('acme'), small.count('globex')]).toEqual([3, 3])
  })

  it('moves a store of the schema that keyed episodes by id alone, keeping its rows', async () => {
    const { DatabaseSync } = await import('node:sqlite')
    const path = join(dir, 'v1.db')
    const db = new DatabaseSync(path)
    db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta VALUES ('origin', 'abcdef0123456789');
      CREATE TABLE episodes (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL, council TEXT, task TEXT,
        agent TEXT NOT NULL, role TEXT, summary TEXT NOT NULL, reward REAL, ts INTEGER NOT NULL, data TEXT, UNIQUE (tenant, origin, seq));
      CREATE TABLE origins (tenant TEXT NOT NULL, origin TEXT NOT NULL, contiguous INTEGER NOT NULL, PRIMARY KEY (tenant, origin));
      INSERT INTO episodes VALUES ('abcdef0123456789-1', 'acme', 'abcdef0123456789', 1, 'c1', 't1', 'peer-a', 'coder', 'kept', 0.5, ${Date.now()}, '{"k":1}');
      INSERT INTO origins VALUES ('acme', 'abcdef0123456789', 1);`)
    db.close()
    const store = EpisodeStore.open(path)
    stores.push(store)
    expect(store.origin).toBe('abcdef0123456789')
    expect(store.query({ tenants: ['acme'] }).map(e => [e.id, e.summary, e.data])).toEqual([
      ['abcdef0123456789-1', 'kept', { k: 1 }]
    ])
    // The id the old schema refused for a second tenant is taken now.
    expect(store.append(fields('globex', 1)).id).toBe('abcdef0123456789-1')
    expect(store.count('globex')).toBe(1)
    expect(store.append(fields('acme', 2)).seq).toBe(2)
  })

  it('reports every episode it does not store: duplicates, conflicts and expired ones', () => {
    const refused: string[] = []
    const a = EpisodeStore.open(join(dir, 'refusals.db'), {
      maxAgeMs: 60_000,
      onRefused: (e, reason) => refused.push(`${e.tenant}/${e.seq}:${reason}`)
    })
    stores.push(a)
    const e = a.append(fields('acme', 1))
    expect(a.insert([e])).toEqual([])
    expect(a.insert([{ ...e, summary: 'forged' }])).toEqual([])
    expect(a.insert([{ ...e, id: `${e.origin}-2`, seq: 2, ts: Date.now() - 120_000 }])).toEqual([])
    expect(refused).toEqual(['acme/1:duplicate', 'acme/1:conflict', 'acme/2:expired'])
    expect(a.holds(e)).toBe(true)
    expect(a.holds({ ...e, data: { other: true } })).toBe(false)
  })
})
