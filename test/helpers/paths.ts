import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))

/** The repository root, from test/helpers (vitest) or dist/test/helpers (compiled benchmarks). */
export const ROOT = resolve(here, here.includes('/dist/test/') ? '../../..' : '../..')

/** The built CLI (npm test and the bench scripts build first). */
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'bin.js')
