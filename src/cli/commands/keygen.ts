import { resolve } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { configDefaults } from '../../config/index.js'
import { createIdentity, identityPath, readIdentity } from '../../node/index.js'
import { EXIT_FAILURE, EXIT_OK } from '../exit.js'

export interface KeygenOptions {
  dataDir?: string
  out?: string
  force?: boolean
}

/** `conclave keygen`: write a new Ed25519 identity and print its peer id. */
export async function keygenCommand(opts: KeygenOptions): Promise<number> {
  const path = resolve(
    opts.out ?? identityPath(opts.dataDir ?? process.env.CONCLAVE_DATA_DIR ?? configDefaults.DEFAULT_DATA_DIR)
  )
  try {
    const key = await createIdentity(path, opts.force === true)
    process.stdout.write(`${peerIdFromPrivateKey(key).toString()}\n`)
    process.stderr.write(`conclave: identity written to ${path}\n`)
    return EXIT_OK
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const reason =
      code === 'EEXIST'
        ? 'it already exists (use --force to replace it, which changes the peer id)'
        : (code ?? (err as Error).message)
    process.stderr.write(`conclave: cannot write identity ${path}: ${reason}\n`)
    return EXIT_FAILURE
  }
}

export interface IdOptions {
  dataDir?: string
  identity?: string
}

/** `conclave id`: print the peer id of an existing identity (for bootstrap multiaddrs and credentials). */
export async function idCommand(opts: IdOptions): Promise<number> {
  const path = resolve(
    opts.identity ??
      process.env.CONCLAVE_IDENTITY ??
      identityPath(opts.dataDir ?? process.env.CONCLAVE_DATA_DIR ?? configDefaults.DEFAULT_DATA_DIR)
  )
  try {
    process.stdout.write(`${peerIdFromPrivateKey(await readIdentity(path)).toString()}\n`)
    return EXIT_OK
  } catch (err) {
    process.stderr.write(`conclave: ${(err as Error).message}\n`)
    return EXIT_FAILURE
  }
}
