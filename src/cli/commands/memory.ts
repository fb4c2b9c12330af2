import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { makeDirectory } from '../../util/fs.js'
import { configDefaults } from '../../config/index.js'
import { EpisodeStore, MEMORY, readEpisodesJsonl, writeEpisodesJsonl, type Episode } from '../../memory/index.js'
import { isValidTenantId } from '../../tenancy/index.js'
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK } from '../exit.js'
import { UsageError } from '../errors.js'

export interface MemoryFileOptions {
  dataDir?: string
  tenant?: string
  out?: string
  /** import: make a new episode database when the data dir has none. */
  create?: boolean
}

function databaseOf(opts: MemoryFileOptions, mustExist: boolean): string | Error {
  const dir = resolve(opts.dataDir ?? process.env.CONCLAVE_DATA_DIR ?? configDefaults.DEFAULT_DATA_DIR)
  const path = join(dir, MEMORY.MEMORY_FILE)
  if (mustExist && !existsSync(path)) {
    return new UsageError(
      `${opts.dataDir !== undefined ? '--data-dir' : 'CONCLAVE_DATA_DIR'}: no episode database at ${path}${opts.create === false ? ' (pass --create to make a new one)' : ''}`
    )
  }
  return path
}

function tenantsIn(store: EpisodeStore, only?: string): string[] {
  return only !== undefined ? [only] : store.tenants()
}

/** `conclave memory export`: every episode of the data dir's database as JSON lines. */
export async function memoryExportCommand(opts: MemoryFileOptions): Promise<number> {
  if (opts.out === undefined) {
    process.stderr.write('conclave: --out: required (the .jsonl file to write)\n')
    return EXIT_CONFIG
  }
  const path = databaseOf(opts, true)
  if (path instanceof Error) {
    process.stderr.write(`conclave: ${path.message}\n`)
    return EXIT_CONFIG
  }
  const store = EpisodeStore.open(path)
  try {
    const count = await writeEpisodesJsonl(store.all(tenantsIn(store, opts.tenant)), opts.out)
    process.stdout.write(`exported ${count} episodes to ${opts.out}\n`)
    return EXIT_OK
  } catch (err) {
    process.stderr.write(`conclave: --out: cannot write ${opts.out}: ${(err as Error).message}\n`)
    return EXIT_FAILURE
  } finally {
    store.close()
  }
}

/**
 * `conclave memory import F.jsonl`: restore a backup into the data dir's database (also while
 * the agent runs: SQLite locks; peers get the episodes by their next pull).
 */
export async function memoryImportCommand(file: string, opts: MemoryFileOptions): Promise<number> {
  if (opts.tenant !== undefined && !isValidTenantId(opts.tenant)) {
    process.stderr.write(`conclave: --tenant: "${opts.tenant}" is not a tenant id (a-z, 0-9, ".", "_", "-")\n`)
    return EXIT_CONFIG
  }
  let episodes
  try {
    episodes = await readEpisodesJsonl(file)
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    process.stderr.write(`conclave: ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}\n`)
    return EXIT_CONFIG
  }
  // A mistyped data dir must not become a new, empty store: only --create makes one.
  const path = databaseOf({ ...opts, create: opts.create === true }, opts.create !== true)
  if (path instanceof Error) {
    process.stderr.write(`conclave: ${path.message}\n`)
    return EXIT_CONFIG
  }
  let store: EpisodeStore
  try {
    await makeDirectory(dirname(path))
    store = EpisodeStore.open(path)
  } catch (err) {
    process.stderr.write(`conclave: ${(err as Error).message}\n`)
    return EXIT_CONFIG
  }
  try {
    const chosen = opts.tenant === undefined ? episodes : episodes.filter(e => e.tenant === opts.tenant)
    // All or nothing: an episode that contradicts one held under its id is not "already present".
    const conflicting = store.conflicts(chosen)
    if (conflicting.length > 0) {
      const first = conflicting[0] as Episode
      process.stderr.write(
        `conclave: ${file}: ${conflicting.length} episodes differ from the ones this store holds under the same id (first: tenant ${first.tenant}, id ${first.id}); nothing imported\n`
      )
      return EXIT_FAILURE
    }
    const added = store.insert(chosen)
    process.stdout.write(
      `imported ${added.length} episodes (${chosen.length - added.length} already present or past retention)\n`
    )
    return EXIT_OK
  } finally {
    store.close()
  }
}
