/**
 * The operator token: a random secret in `<data dir>/api.token` (mode 0600), made on first start,
 * that grants admin on every tenant the agent belongs to. The local CLI reads the same file.
 */
import { randomBytes } from 'node:crypto'
import { chmod, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { writeSecretFile } from '../util/fs.js'
import { MIN_OPERATOR_TOKEN_CHARS, OPERATOR_TOKEN_FILE } from './constants.js'
import { ApiTokenError } from './errors.js'

export function operatorTokenPath(dataDir: string): string {
  return join(dataDir, OPERATOR_TOKEN_FILE)
}

/** Why `token` cannot serve as an operator token, or undefined when it can. */
export function operatorTokenProblem(token: string): string | undefined {
  if (token.length < MIN_OPERATOR_TOKEN_CHARS) return `must be at least ${MIN_OPERATOR_TOKEN_CHARS} characters`
  if (!/^[\x21-\x7e]+$/.test(token)) return 'must be printable ASCII without spaces'
  return undefined
}

/** Read the operator token of a data dir; undefined when there is none yet. */
export async function readOperatorToken(dataDir: string): Promise<string | undefined> {
  const path = operatorTokenPath(dataDir)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ApiTokenError(path, (err as Error).message)
  }
  const token = text.trim()
  const problem = operatorTokenProblem(token)
  if (problem !== undefined) throw new ApiTokenError(path, `${problem} (delete the file to have a new one made)`)
  return token
}

/**
 * The operator token of a data dir, made on first use. Returns the token and whether the file's
 * mode had to be narrowed to 0600.
 */
export async function loadOrCreateOperatorToken(dataDir: string): Promise<{ token: string; narrowed: boolean }> {
  const path = operatorTokenPath(dataDir)
  const existing = await readOperatorToken(dataDir)
  if (existing !== undefined) {
    const mode = (await stat(path)).mode & 0o777
    if ((mode & 0o077) !== 0) await chmod(path, 0o600)
    return { token: existing, narrowed: (mode & 0o077) !== 0 }
  }
  const token = randomBytes(32).toString('base64url')
  try {
    await writeSecretFile(path, token + '\n', true)
  } catch (err) {
    // Another process made it meanwhile: use that one.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      return { token: (await readOperatorToken(dataDir)) as string, narrowed: false }
    }
    throw new ApiTokenError(path, (err as Error).message)
  }
  return { token, narrowed: false }
}
