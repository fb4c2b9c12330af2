import { chmod, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { makeDirectory } from '../util/fs.js'
import { IDENTITY_FILE } from './constants.js'
import { IdentityError } from './errors.js'

export function identityPath(dataDir: string): string {
  return join(dataDir, IDENTITY_FILE)
}

/** Write a new Ed25519 key to `path` (mode 0600). Refuses to overwrite unless `force`. */
export async function createIdentity(path: string, force = false): Promise<PrivateKey> {
  const key = await generateKeyPair('Ed25519')
  await makeDirectory(dirname(path))
  await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600, flag: force ? 'w' : 'wx' })
  await chmod(path, 0o600)
  return key
}

export async function readIdentity(path: string): Promise<PrivateKey> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new IdentityError(path, (err as NodeJS.ErrnoException).code ?? (err as Error).message)
  }
  try {
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new IdentityError(path, `not a libp2p private key (${(err as Error).message})`)
  }
}

/**
 * The agent's persistent identity: read from the data dir, or created there on first start so
 * that every replica gets its own key and keeps its peer id across restarts. With `fixedPath`
 * the key is read from there and must exist.
 */
export async function loadOrCreateIdentity(dataDir: string, fixedPath?: string): Promise<PrivateKey> {
  // A configured key file (a mounted secret) is never created: a typo in its path must not
  // silently give the agent a new peer id that no bootstrap multiaddr names.
  if (fixedPath !== undefined) return await readIdentity(fixedPath)
  const path = identityPath(dataDir)
  try {
    return await createIdentity(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  return readIdentity(path)
}
