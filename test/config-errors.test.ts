/** Start-up errors through the real CLI: exit code 2 and a message naming the setting. */
import { createServer, type Server } from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
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
  for (const [name, text] of Object.entries(MODULES)) await writeFile(join(dir, name), text)
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

const cases: Array<{ what: string; args?: string[]; env: Record<string, string>; source: string; message: RegExp }> = [
  {
    what: 'a malformed multiaddr',
    env: { CONCLAVE_LISTEN: '/ip4/300.1.1.1/tcp/1' },
    source: 'CONCLAVE_LISTEN',
    message: /not a valid multiaddr/
  },
  {
    what: 'a malformed bootstrap flag',
    args: ['--bootstrap', '/ip4/1.2.3.4'],
    env: {},
    source: '--bootstrap',
    message: /tcp/
  },
  {
    what: 'a p2p port in use',
    env: { CONCLAVE_LISTEN: '' },
    source: 'CONCLAVE_LISTEN',
    message: /address already in use/
  },
  {
    what: 'an HTTP port in use',
    env: { CONCLAVE_HTTP: '' },
    source: 'CONCLAVE_HTTP',
    message: /address already in use/
  },
  {
    what: 'an unwritable data dir',
    env: { CONCLAVE_DATA_DIR: '/proc/conclave/data' },
    source: 'CONCLAVE_DATA_DIR',
    message: /not writable/
  },
  {
    what: 'a data dir under a file',
    env: { CONCLAVE_DATA_DIR: '/etc/hostname/data' },
    source: 'CONCLAVE_DATA_DIR',
    message: /not writable \(ENOTDIR\)/
  },
  {
    what: 'a bootstrap address with a bad peer id',
    env: { CONCLAVE_BOOTSTRAP: '/ip4/127.0.0.1/tcp/4001/p2p/QmBadPeerIdOfTheWrongLength' },
    source: 'CONCLAVE_BOOTSTRAP',
    message: /names an invalid peer id "QmBadPeerIdOfTheWrongLength"/
  },
  {
    what: 'an operator token too short',
    env: { CONCLAVE_API_TOKEN: 'short' },
    source: 'CONCLAVE_API_TOKEN',
    message: /at least 32 characters/
  },
  {
    what: 'a host allow-list entry that is no host name',
    env: { CONCLAVE_HTTP_HOSTS: 'good.example,bad host' },
    source: 'CONCLAVE_HTTP_HOSTS',
    message: /"bad host" is not a host name/
  },
  {
    what: 'an unknown variable',
    env: { CONCLAVE_LISTN: '/ip4/127.0.0.1/tcp/0' },
    source: 'CONCLAVE_LISTN',
    message: /unknown variable/
  },
  { what: 'a bad boolean', env: { CONCLAVE_MDNS: 'perhaps' }, source: 'CONCLAVE_MDNS', message: /not a boolean/ },
  {
    what: 'a bad number',
    env: { CONCLAVE_MAX_CONNECTIONS: '0' },
    source: 'CONCLAVE_MAX_CONNECTIONS',
    message: /out of range/
  },
  { what: 'an unknown flag', args: ['--lisen', 'x'], env: {}, source: '', message: /unknown option/ },
  {
    what: 'an unknown built-in behaviour',
    env: { CONCLAVE_BEHAVIOUR: 'wizard' },
    source: 'CONCLAVE_BEHAVIOUR',
    message: /neither a built-in behaviour/
  },
  {
    what: 'the llm behaviour without a URL',
    env: { CONCLAVE_BEHAVIOUR: 'llm', CONCLAVE_LLM_MODEL: 'm' },
    source: 'CONCLAVE_BEHAVIOUR',
    message: /llm needs CONCLAVE_LLM_URL/
  },
  {
    what: 'an LLM URL that is not http',
    env: { CONCLAVE_LLM_URL: 'ftp://x/v1' },
    source: 'CONCLAVE_LLM_URL',
    message: /http:\/\/ or https:\/\//
  },
  {
    what: 'a missing behaviour module',
    env: { CONCLAVE_BEHAVIOUR: './nowhere/missing.mjs' },
    source: 'CONCLAVE_BEHAVIOUR',
    message: /module \.\/nowhere\/missing\.mjs not found/
  },
  {
    what: 'a behaviour module with a syntax error',
    env: { CONCLAVE_BEHAVIOUR: '@/broken.mjs' },
    source: 'CONCLAVE_BEHAVIOUR',
    message: /broken\.mjs failed to load: .*Unexpected/
  },
  {
    what: 'a behaviour module exporting nothing',
    env: { CONCLAVE_BEHAVIOUR: '@/empty.mjs' },
    source: 'CONCLAVE_BEHAVIOUR',
    message: /exports no behaviour/
  },
  {
    what: 'a behaviour module without onTask',
    env: { CONCLAVE_BEHAVIOUR: '@/shapeless.mjs' },
    source: 'CONCLAVE_BEHAVIOUR',
    message: /onTask must be a function/
  },
  {
    what: 'a behaviour module that throws while loading',
    env: { CONCLAVE_BEHAVIOUR: '@/throws.mjs' },
    source: 'CONCLAVE_BEHAVIOUR',
    message: /failed to load: no API key here/
  }
]

/** Behaviour modules the cases above name as `@/<file>` (inside the test's folder). */
const MODULES: Record<string, string> = {
  'broken.mjs': "export default { roles: ['coder'], onTask (task) { return {{ }\n",
  'empty.mjs': 'export const answer = 42\n',
  'shapeless.mjs': "export default { roles: ['coder'] }\n",
  'throws.mjs': "throw new Error('no API key here')\n"
}

describe('bad configuration', () => {
  for (const c of cases) {
    it(`start refuses ${c.what} with exit code 2`, async () => {
      const env = { ...base(), ...c.env }
      if (c.what === 'a p2p port in use') env.CONCLAVE_LISTEN = `/ip4/127.0.0.1/tcp/${busyPort}`
      if (c.what === 'an HTTP port in use') env.CONCLAVE_HTTP = `127.0.0.1:${busyPort}`
      if (env.CONCLAVE_BEHAVIOUR?.startsWith('@/') === true) {
        env.CONCLAVE_BEHAVIOUR = join(dir, env.CONCLAVE_BEHAVIOUR.slice(2))
      }
      const proc = runCli(['start', ...(c.args ?? [])], env)
      expect(await proc.exited).toBe(2)
      expect(proc.stderr()).toMatch(c.message)
      if (c.source !== '') expect(proc.stderr()).toContain(`${c.source}:`)
    })
  }

  it('config prints the resolved configuration and exits 0 when valid', async () => {
    const proc = runCli(['config', '--name', 'printer'], base())
    expect(await proc.exited).toBe(0)
    const out = JSON.parse(proc.stdout()) as {
      config: { name: string; http: unknown }
      sources: Record<string, string>
    }
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
