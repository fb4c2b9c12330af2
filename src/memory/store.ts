import { randomBytes } from 'node:crypto'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { DEFAULT_MAX_AGE_MS, DEFAULT_MAX_EPISODES, DEFAULT_QUERY_LIMIT, PULL_BATCH } from './constants.js'
import { episodeId, type Episode } from './episode.js'
import { MemoryStoreError } from './errors.js'

export interface Retention {
  /** Episodes kept per tenant; the oldest go first. */
  maxEpisodes: number
  /** Episodes older than this (ms) are dropped, and not accepted from peers. */
  maxAgeMs: number
}

/** Why a store did not take an episode it was given. */
export type RefusedReason = 'duplicate' | 'conflict' | 'expired'

export interface StoreOptions extends Partial<Retention> {
  /** Told of every episode `insert` did not store, and why. */
  onRefused?: (episode: Episode, reason: RefusedReason) => void
}

export interface EpisodeFilter {
  /** Tenants the caller may see. */
  tenants: string[]
  council?: string
  agent?: string
  role?: string
  /** Only episodes with `ts >= since` (oldest first); without it, the latest `limit`. */
  since?: number
  limit?: number
}

export interface TenantStats {
  tenant: string
  episodes: number
  agents: number
  origins: number
  oldestTs: number | null
  newestTs: number | null
}

/** Highest sequence number held without a gap, per origin: what a pull tells a peer. */
export type HaveVector = Record<string, number>

interface Row {
  id: string
  tenant: string
  origin: string
  seq: number
  council: string | null
  task: string | null
  agent: string
  role: string | null
  summary: string
  reward: number | null
  ts: number
  data: string | null
}

/** Rows read at once by `stream`. */
const STREAM_PAGE = 256

const COLUMNS = 'id, tenant, origin, seq, council, task, agent, role, summary, reward, ts, data'

/**
 * Schema version 2: an episode is identified within its tenant. Version 1 keyed episodes by id
 * alone, but sequence numbers count per tenant, so an agent in two tenants gave the second
 * tenant's episodes ids the first already held, and they were dropped.
 */
const SCHEMA_VERSION = '2'

const EPISODES_TABLE = (name: string): string => `
CREATE TABLE ${name} (
  id TEXT NOT NULL,
  tenant TEXT NOT NULL,
  origin TEXT NOT NULL,
  seq INTEGER NOT NULL,
  council TEXT,
  task TEXT,
  agent TEXT NOT NULL,
  role TEXT,
  summary TEXT NOT NULL,
  reward REAL,
  ts INTEGER NOT NULL,
  data TEXT,
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, origin, seq)
)`

const SCHEMA = `
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS origins (
  tenant TEXT NOT NULL,
  origin TEXT NOT NULL,
  contiguous INTEGER NOT NULL,
  PRIMARY KEY (tenant, origin)
);
`

/** Create the episodes table, or move a version 1 table to version 2 (in one transaction). */
function migrate(db: DatabaseSync): void {
  const version = (db.prepare('SELECT value FROM meta WHERE key = ?').get('schema') as { value: string } | undefined)
    ?.value
  const exists =
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'episodes'").get() !== undefined
  if (version === SCHEMA_VERSION && exists) return
  db.exec('BEGIN IMMEDIATE')
  try {
    if (exists) {
      db.exec(EPISODES_TABLE('episodes_v2'))
      db.exec(`INSERT INTO episodes_v2 (${COLUMNS}) SELECT ${COLUMNS} FROM episodes`)
      db.exec('DROP TABLE episodes')
      db.exec('ALTER TABLE episodes_v2 RENAME TO episodes')
    } else {
      db.exec(EPISODES_TABLE('episodes'))
    }
    db.exec('CREATE INDEX IF NOT EXISTS episodes_by_time ON episodes (tenant, ts)')
    db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'
    ).run('schema', SCHEMA_VERSION)
    db.exec('COMMIT')
  } catch (err) {
    db.exec('ROLLBACK')
    throw err
  }
}

function toEpisode(row: Row): Episode {
  const episode: Episode = {
    id: row.id,
    tenant: row.tenant,
    origin: row.origin,
    seq: Number(row.seq),
    council: row.council,
    task: row.task,
    agent: row.agent,
    role: row.role,
    summary: row.summary,
    reward: row.reward,
    ts: Number(row.ts)
  }
  if (row.data !== null) episode.data = JSON.parse(row.data)
  return episode
}

/**
 * Episodes in SQLite (`node:sqlite`), one file in the data dir. Each database has its own origin
 * id and numbers the episodes it records 1, 2, 3… per tenant; for every origin it tracks the
 * highest sequence number held without a gap, which is all a peer needs to send what is missing.
 */
export class EpisodeStore {
  readonly origin: string
  readonly retention: Retention
  private readonly db: DatabaseSync
  private readonly contiguous = new Map<string, number>()
  private readonly stmts: Record<
    'insert' | 'exists' | 'held' | 'setContiguous' | 'after' | 'minSeq' | 'origins',
    StatementSync
  >
  private readonly onRefused: StoreOptions['onRefused']

  private constructor(db: DatabaseSync, retention: Retention, onRefused: StoreOptions['onRefused']) {
    this.db = db
    this.retention = retention
    this.onRefused = onRefused
    const meta = db.prepare('SELECT value FROM meta WHERE key = ?').get('origin') as { value: string } | undefined
    if (meta === undefined) {
      this.origin = randomBytes(8).toString('hex')
      db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('origin', this.origin)
    } else {
      this.origin = meta.value
    }
    this.stmts = {
      insert: db.prepare(`INSERT OR IGNORE INTO episodes (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      exists: db.prepare('SELECT 1 FROM episodes WHERE tenant = ? AND origin = ? AND seq = ?'),
      held: db.prepare(`SELECT ${COLUMNS} FROM episodes WHERE tenant = ? AND (id = ? OR (origin = ? AND seq = ?))`),
      setContiguous: db.prepare(
        'INSERT INTO origins (tenant, origin, contiguous) VALUES (?, ?, ?) ON CONFLICT (tenant, origin) DO UPDATE SET contiguous = excluded.contiguous'
      ),
      after: db.prepare(
        `SELECT ${COLUMNS} FROM episodes WHERE tenant = ? AND origin = ? AND seq > ? ORDER BY seq LIMIT ?`
      ),
      minSeq: db.prepare('SELECT MIN(seq) AS seq FROM episodes WHERE tenant = ? AND origin = ?'),
      origins: db.prepare('SELECT origin, contiguous FROM origins WHERE tenant = ?')
    }
    for (const row of db.prepare('SELECT tenant, origin, contiguous FROM origins').all() as Array<{
      tenant: string
      origin: string
      contiguous: number
    }>) {
      this.contiguous.set(key(row.tenant, row.origin), Number(row.contiguous))
    }
  }

  /** Open (or create) the database at `path`. Throws `MemoryStoreError`. */
  static open(path: string, options: StoreOptions = {}): EpisodeStore {
    try {
      const db = new DatabaseSync(path)
      db.exec('PRAGMA busy_timeout = 5000')
      db.exec(SCHEMA)
      migrate(db)
      return new EpisodeStore(
        db,
        { maxEpisodes: options.maxEpisodes ?? DEFAULT_MAX_EPISODES, maxAgeMs: options.maxAgeMs ?? DEFAULT_MAX_AGE_MS },
        options.onRefused
      )
    } catch (err) {
      throw new MemoryStoreError(`cannot open episode database ${path}: ${(err as Error).message}`, { cause: err })
    }
  }

  /** Record an episode of this origin: the next sequence number of the tenant. */
  append(fields: Omit<Episode, 'id' | 'origin' | 'seq'>): Episode {
    const seq = (this.contiguous.get(key(fields.tenant, this.origin)) ?? 0) + 1
    const episode: Episode = { ...fields, id: episodeId(this.origin, seq), origin: this.origin, seq }
    this.insert([episode], Number.NEGATIVE_INFINITY)
    return episode
  }

  /**
   * Store episodes (from gossip, a pull or an import); returns those that were new. Episodes
   * already past the age limit at `now` are skipped (they would only bounce between peers). Every
   * episode not stored is reported to `onRefused`: a duplicate (the same episode is held), a
   * conflict (another episode holds its id or its origin and sequence number), or expired.
   */
  insert(episodes: Episode[], now = Date.now()): Episode[] {
    const added: Episode[] = []
    const refused: Array<[Episode, RefusedReason]> = []
    const oldest = now - this.retention.maxAgeMs
    this.transaction(() => {
      for (const e of episodes) {
        if (e.ts < oldest) {
          refused.push([e, 'expired'])
          continue
        }
        const data = e.data === undefined ? null : JSON.stringify(e.data)
        const { changes } = this.stmts.insert.run(
          e.id,
          e.tenant,
          e.origin,
          e.seq,
          e.council,
          e.task,
          e.agent,
          e.role,
          e.summary,
          e.reward,
          e.ts,
          data
        )
        if (Number(changes) === 0) {
          refused.push([e, this.holds(e) ? 'duplicate' : 'conflict'])
          continue
        }
        added.push(e)
        this.advance(e.tenant, e.origin)
      }
    })
    for (const [e, reason] of refused) this.onRefused?.(e, reason)
    return added
  }

  /** Those of `episodes` that another episode held here contradicts (same id or origin and sequence number, other content). */
  conflicts(episodes: Episode[]): Episode[] {
    return episodes.filter(e => {
      const rows = this.stmts.held.all(e.tenant, e.id, e.origin, e.seq) as unknown as Row[]
      return rows.length > 0 && !(rows.length === 1 && sameEpisode(toEpisode(rows[0] as Row), e))
    })
  }

  /** Whether exactly this episode is held (every field alike), not merely one with its id. */
  holds(e: Episode): boolean {
    const rows = this.stmts.held.all(e.tenant, e.id, e.origin, e.seq) as unknown as Row[]
    return rows.length === 1 && sameEpisode(toEpisode(rows[0] as Row), e)
  }

  /** Highest gap-free sequence number per origin of a tenant. */
  have(tenant: string): HaveVector {
    const out: HaveVector = {}
    for (const row of this.stmts.origins.all(tenant) as Array<{ origin: string; contiguous: number }>) {
      out[row.origin] = Number(row.contiguous)
    }
    return out
  }

  /** True when `seq` of `origin` is beyond the next expected one: something was missed. */
  hasGapBefore(tenant: string, origin: string, seq: number): boolean {
    return seq > (this.contiguous.get(key(tenant, origin)) ?? 0) + 1
  }

  /**
   * What a peer with `have` lacks, one batch per call: `after` continues from the last batch.
   * `floors` tells the peer where this store's log of an origin starts when retention dropped
   * its beginning (the peer stops asking for what no longer exists).
   */
  *missing(
    tenant: string,
    have: HaveVector,
    batch = PULL_BATCH
  ): Generator<{ episodes: Episode[]; floors: HaveVector }> {
    for (const { origin } of this.stmts.origins.all(tenant) as Array<{ origin: string }>) {
      let after = have[origin] ?? 0
      const floors: HaveVector = {}
      const min = Number((this.stmts.minSeq.get(tenant, origin) as { seq: number | null }).seq ?? 0)
      if (min - 1 > after) {
        floors[origin] = min - 1
        after = min - 1
      }
      while (true) {
        const rows = this.stmts.after.all(tenant, origin, after, batch) as unknown as Row[]
        if (rows.length === 0 && Object.keys(floors).length === 0) break
        yield { episodes: rows.map(toEpisode), floors: { ...floors } }
        delete floors[origin]
        if (rows.length < batch) break
        after = Number(rows[rows.length - 1]?.seq)
      }
    }
  }

  /** Accept that an origin's log starts after `floor` (its beginning was dropped by retention). */
  raiseFloor(tenant: string, origin: string, floor: number): void {
    const k = key(tenant, origin)
    if ((this.contiguous.get(k) ?? 0) >= floor) return
    this.contiguous.set(k, floor)
    this.stmts.setContiguous.run(tenant, origin, floor)
    this.advance(tenant, origin)
  }

  query(filter: EpisodeFilter): Episode[] {
    return [...this.stream(filter)]
  }

  /**
   * The episodes `query` answers, one at a time from the database, oldest first: an answer is
   * never held whole in memory. Without `since`, the oldest of the latest `limit` is found
   * first, then read forward from there.
   */
  *stream(filter: EpisodeFilter): Generator<Episode> {
    if (filter.tenants.length === 0) return
    const where = [`tenant IN (${filter.tenants.map(() => '?').join(', ')})`]
    const params: Array<string | number> = [...filter.tenants]
    for (const column of ['council', 'agent', 'role'] as const) {
      const value = filter[column]
      if (value !== undefined) {
        where.push(`${column} = ?`)
        params.push(value)
      }
    }
    const limit = filter.limit ?? DEFAULT_QUERY_LIMIT
    if (filter.since !== undefined) {
      where.push('ts >= ?')
      params.push(filter.since)
    } else {
      const first = this.db
        .prepare(
          `SELECT ts, id, tenant FROM episodes WHERE ${where.join(' AND ')} ORDER BY ts DESC, id DESC, tenant DESC LIMIT 1 OFFSET ?`
        )
        .get(...params, limit - 1) as { ts: number; id: string; tenant: string } | undefined
      if (first !== undefined) {
        where.push('(ts > ? OR (ts = ? AND (id > ? OR (id = ? AND tenant >= ?))))')
        params.push(first.ts, first.ts, first.id, first.id, first.tenant)
      }
    }
    // Page by page, each page read whole: no statement stays open while the caller is away
    // (the caller may write to this database between two pages).
    const first = this.db.prepare(
      `SELECT ${COLUMNS} FROM episodes WHERE ${where.join(' AND ')} ORDER BY ts, id, tenant LIMIT ?`
    )
    const next = this.db.prepare(
      `SELECT ${COLUMNS} FROM episodes WHERE ${where.join(' AND ')} AND (ts, id, tenant) > (?, ?, ?) ORDER BY ts, id, tenant LIMIT ?`
    )
    let left = limit
    let page = first.all(...params, Math.min(left, STREAM_PAGE)) as unknown as Row[]
    while (page.length > 0) {
      for (const row of page) yield toEpisode(row)
      left -= page.length
      const last = page[page.length - 1] as Row
      if (left <= 0 || page.length < STREAM_PAGE) return
      page = next.all(...params, last.ts, last.id, last.tenant, Math.min(left, STREAM_PAGE)) as unknown as Row[]
    }
  }

  /** Every episode of `tenants`, oldest first (export). */
  *all(tenants: string[]): Generator<Episode> {
    if (tenants.length === 0) return
    const stmt = this.db.prepare(
      `SELECT ${COLUMNS} FROM episodes WHERE tenant IN (${tenants.map(() => '?').join(', ')}) ORDER BY ts, id`
    )
    for (const row of stmt.iterate(...tenants)) yield toEpisode(row as unknown as Row)
  }

  /** Tenants with episodes here. */
  tenants(): string[] {
    return (
      this.db.prepare('SELECT DISTINCT tenant FROM episodes ORDER BY tenant').all() as Array<{ tenant: string }>
    ).map(r => r.tenant)
  }

  count(tenant: string): number {
    return Number(
      (this.db.prepare('SELECT COUNT(*) AS n FROM episodes WHERE tenant = ?').get(tenant) as { n: number }).n
    )
  }

  stats(tenants: string[]): TenantStats[] {
    const stmt = this.db.prepare(
      'SELECT COUNT(*) AS episodes, COUNT(DISTINCT agent) AS agents, COUNT(DISTINCT origin) AS origins, MIN(ts) AS oldest, MAX(ts) AS newest FROM episodes WHERE tenant = ?'
    )
    return tenants.map(tenant => {
      const row = stmt.get(tenant) as {
        episodes: number
        agents: number
        origins: number
        oldest: number | null
        newest: number | null
      }
      return {
        tenant,
        episodes: Number(row.episodes),
        agents: Number(row.agents),
        origins: Number(row.origins),
        oldestTs: row.oldest === null ? null : Number(row.oldest),
        newestTs: row.newest === null ? null : Number(row.newest)
      }
    })
  }

  /** Apply retention: drop episodes past the age limit, then the oldest beyond the count limit. */
  prune(now = Date.now()): number {
    let removed = 0
    this.transaction(() => {
      removed += Number(this.db.prepare('DELETE FROM episodes WHERE ts < ?').run(now - this.retention.maxAgeMs).changes)
      const tenants = this.db.prepare('SELECT tenant, COUNT(*) AS n FROM episodes GROUP BY tenant').all() as Array<{
        tenant: string
        n: number
      }>
      for (const { tenant, n } of tenants) {
        const excess = Number(n) - this.retention.maxEpisodes
        if (excess <= 0) continue
        removed += Number(
          this.db
            .prepare(
              'DELETE FROM episodes WHERE rowid IN (SELECT rowid FROM episodes WHERE tenant = ? ORDER BY ts, id LIMIT ?)'
            )
            .run(tenant, excess).changes
        )
      }
    })
    return removed
  }

  close(): void {
    if (this.db.isOpen) this.db.close()
  }

  /** Move an origin's gap-free mark over every sequence number now held. */
  private advance(tenant: string, origin: string): void {
    const k = key(tenant, origin)
    const before = this.contiguous.get(k) ?? 0
    let c = before
    while (this.stmts.exists.get(tenant, origin, c + 1) !== undefined) c++
    if (c === before && this.contiguous.has(k)) return
    this.contiguous.set(k, c)
    this.stmts.setContiguous.run(tenant, origin, c)
  }

  private transaction(fn: () => void): void {
    this.db.exec('BEGIN IMMEDIATE')
    try {
      fn()
      this.db.exec('COMMIT')
    } catch (err) {
      this.db.exec('ROLLBACK')
      throw err
    }
  }
}

const key = (tenant: string, origin: string): string => `${tenant}\u0000${origin}`

/** Field by field, `data` compared as the JSON the store keeps. */
export function sameEpisode(a: Episode, b: Episode): boolean {
  return (
    a.id === b.id &&
    a.tenant === b.tenant &&
    a.origin === b.origin &&
    a.seq === b.seq &&
    a.council === b.council &&
    a.task === b.task &&
    a.agent === b.agent &&
    a.role === b.role &&
    a.summary === b.summary &&
    a.reward === b.reward &&
    a.ts === b.ts &&
    JSON.stringify(a.data ?? null) === JSON.stringify(b.data ?? null)
  )
}
