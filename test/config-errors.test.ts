/** Start-up errors through the real CLI: exit code 2 and a message naming the setting. */
import { createServer, type Server } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { killAll, runCli } from './helpers/cli.js'

let dir: string
let blocker: Server
let busyPort: number
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conclave-cfg-'))
  blocker = createServer()
  await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
  busyPort = (blocker.address() as { port: number }).port
})
afterEach(killAll)
afterAll(async () => {
  blocker.close()
  await rm(dir, { recursive: true, force: true })
})

const base = (): Record<string, string> => ({
  CONCLAVE_DATA_DIR: join(dir, 'data'),
  CONCLAVE_LISTEN: '/ip4/127.0.0.1/tcp/0',
  CONCLAVE_HTTP: '127.0.0.1:0',
  CONCLAVE_MDNS: 'false'
})

const cases: Array<{ what: string, args?: string[], env: Record<string, string>, source: string, message: RegExp }> = [
  { what: 'a malformed multiaddr', env: { CONCLAVE_LISTEN: '/ip4/300.1.1.1/tcp/1' }, source: 'CONCLAVE_LISTEN', message: /not a valid multiaddr/ },
  { what: 'a malformed bootstrap flag', args: ['--bootstrap', '/ip4/1.2.3.4'], env: {}, source: '--bootstrap', message: /tcp/ },
  { what: 'a p2p port in use', env: { CONCLAVE_LISTEN: '' }, source: 'CONCLAVE_LISTEN', message: /address already in use/ },
  { what: 'an HTTP port in use', env: { CONCLAVE_HTTP: '' }, source: 'CONCLAVE_HTTP', message: /address already in use/ },
  { what: 'an unwritable data dir', env: { CONCLAVE_DATA_DIR: '/proc/conclave/data' }, source: 'CONCLAVE_DATA_DIR', message: /not writable/ },
  { what: 'a data dir under a file', env: { CONCLAVE_DATA_DIR: '/etc/hostname/data' }, source: 'CONCLAVE_DATA_DIR', message: /not writable \(ENOTDIR\)/ },
  { what: 'an unknown variable', env: { CONCLAVE_LISTN: '/ip4/127.0.0.1/tcp/0' }, source: 'CONCLAVE_LISTN', message: /unknown variable/ },
  { what: 'a bad boolean', env: { CONCLAVE_MDNS: 'perhaps' }, source: 'CONCLAVE_MDNS', message: /not a boolean/ },
  { what: 'a bad number', env: { CONCLAVE_MAX_CONNECTIONS: '0' }, source: 'CONCLAVE_MAX_CONNECTIONS', message: /out of range/ },
  { what: 'an unknown flag', args: ['--lisen', 'x'], env: {}, source: '', message: /unknown option/ }
]

describe('bad configuration', () => {
  for (const c of cases) {
    it(`start refuses ${c.what} with exit code 2`, async () => {
      const env = { ...base(), ...c.env }
      if (c.what === 'a p2p port in use') env.CONCLAVE_LISTEN = `/ip4/127.0.0.1/tcp/${busyPort}`
      if (c.what === 'an HTTP port in use') env.CONCLAVE_HTTP = `127.0.0.1:${busyPort}`
      const proc = runCli(['start', ...(c.args ?? [])], env)
      expect(await proc.exited).toBe(2)
      expect(proc.stderr()).toMatch(c.message)
      if (c.source !== '') expect(proc.stderr()).toContain(`${c.source}:`)
    })
  }

  it('config prints the resolved configuration and exits 0 when valid', async () => {
    const proc = runCli(['config', '--name', 'printer'], base())
    expect(await proc.exited).toBe(0)
    const out = JSON.parse(proc.stdout()) as { config: { name: string, http: unknown }, sources: Record<string, string> }
    expect(out.config.name).toBe('printer')
    expect(out.sources.name).toBe('--name')
    expect(out.sources.http).toBe('CONCLAVE_HTTP')
  })

  it('config exits 2 and names every problem', async () => {
    const proc = runCli(['config'], { ...base(), CONCLAVE_LISTEN: 'nonsense', CONCLAVE_HTTP: 'host:port' })
    expect(await proc.exited).toBe(2)
    expect(proc.stderr()).toContain('CONCLAVE_LISTEN:')
    expect(proc.stderr()).toContain('CONCLAVE_HTTP:')
  })
})
