/**
 * Production-install smoke test (issue #6): the package as npm publishes it, installed into an
 * empty folder with production dependencies only, must start, answer /health and exit 0 on
 * SIGTERM. It catches the missing-module class of failure (a hub that crashed at start because a
 * dependency was missing from the image) before any image is built. The Dockerfile's health
 * check script is exercised against the same agent.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CLI, getJson, killAll, startAgent } from './helpers/cli.js'
import { ROOT } from './helpers/paths.js'
import { run } from './helpers/run.js'
import { waitFor } from './helpers/wait.js'
import { freePort } from './helpers/ports.js'

const HEALTHCHECK = join(ROOT, 'docker', 'healthcheck.mjs')

const dirs: string[] = []
afterAll(async () => {
  await killAll()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

describe('production install', () => {
  it('npm pack, install with production dependencies only, start, /health 200, SIGTERM exits 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conclave-pack-'))
    dirs.push(dir)
    const packed = await run('npm', ['pack', '--pack-destination', dir, '--json'], { cwd: ROOT })
    expect(packed.code, packed.stderr).toBe(0)
    const tarball = (await readdir(dir)).find(f => f.endsWith('.tgz'))
    expect(tarball).toBeDefined()

    // An empty project outside the repository: nothing resolves from the repo's node_modules.
    const app = join(dir, 'app')
    await mkdir(app)
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'smoke', version: '1.0.0', private: true }))
    const installed = await run(
      'npm',
      ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tarball as string)],
      { cwd: app }
    )
    expect(installed.code, installed.stderr).toBe(0)
    // Only production dependencies: no dev tool made it in.
    const modules = await readdir(join(app, 'node_modules'))
    for (const dev of ['vitest', 'typescript', 'yaml', 'node']) expect(modules, dev).not.toContain(dev)

    const cli = join(app, 'node_modules', 'conclave', 'dist', 'src', 'cli', 'bin.js')
    const agent = await startAgent(
      {
        CONCLAVE_NAME: 'smoke',
        CONCLAVE_DATA_DIR: join(dir, 'data'),
        CONCLAVE_LISTEN: '/ip4/127.0.0.1/tcp/0',
        CONCLAVE_HTTP: '127.0.0.1:0',
        CONCLAVE_MDNS: 'false'
      },
      30_000,
      { cli }
    )
    const health = await getJson(`${agent.api}/health`)
    expect(health).toEqual({ status: 200, body: { status: 'ok' } })
    const self = await getJson<{ peerId: string }>(`${agent.api}/v1/self`)
    expect(self.body.peerId).toBe(agent.peerId)

    // The image's HEALTHCHECK: healthy while the agent runs, unhealthy once it is gone.
    const hostPort = new URL(agent.api).host
    const healthy = await run(process.execPath, [HEALTHCHECK], {
      cwd: dir,
      env: { ...process.env, CONCLAVE_HTTP: hostPort }
    })
    expect(healthy.code, healthy.stderr).toBe(0)

    const t0 = Date.now()
    agent.child.kill('SIGTERM')
    expect(await agent.exited).toBe(0)
    expect(Date.now() - t0).toBeLessThan(5_000)
    expect(agent.stderr()).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)/)

    const unhealthy = await run(process.execPath, [HEALTHCHECK], {
      cwd: dir,
      env: { ...process.env, CONCLAVE_HTTP: hostPort }
    })
    expect(unhealthy.code).toBe(1)
  }, 180_000)
})

describe('bootstrap scripts', () => {
  it('start-bootstrap.sh keeps one identity and prints the multiaddr join.sh then joins with', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conclave-boot-'))
    dirs.push(dir)
    const port = await freePort()
    const env = {
      PUBLIC_HOST: '127.0.0.1',
      P2P_PORT: String(port),
      CONCLAVE: `${process.execPath} ${CLI}`,
      CONCLAVE_NAME: 'boot',
      CONCLAVE_DATA_DIR: join(dir, 'boot'),
      CONCLAVE_LISTEN: `/ip4/127.0.0.1/tcp/${port}`,
      CONCLAVE_HTTP: '127.0.0.1:0',
      CONCLAVE_MDNS: 'false'
    }
    const script = (name: string): string[] => ['sh', join(ROOT, 'bootstrap', name)]
    const printed = (a: { stderr: () => string }): string => /bootstrap multiaddr: (\S+)/.exec(a.stderr())?.[1] ?? ''
    const boot = await startAgent(env, 30_000, { launcher: script('start-bootstrap.sh'), args: [] })
    const multiaddr = printed(boot)
    expect(multiaddr).toBe(`/ip4/127.0.0.1/tcp/${port}/p2p/${boot.peerId}`)

    const joiner = await startAgent(
      {
        CONCLAVE: env.CONCLAVE,
        CONCLAVE_NAME: 'joiner',
        CONCLAVE_DATA_DIR: join(dir, 'joiner'),
        CONCLAVE_LISTEN: '/ip4/127.0.0.1/tcp/0',
        CONCLAVE_HTTP: '127.0.0.1:0'
      },
      30_000,
      { launcher: script('join.sh'), args: [multiaddr] }
    )
    await waitFor(
      async () =>
        (await getJson<Array<{ peerId: string; state: string }>>(`${joiner.api}/v1/peers`)).body.some(
          p => p.peerId === boot.peerId && p.state === 'alive'
        ),
      { timeoutMs: 20_000, message: 'the joiner does not see the bootstrap peer' }
    )

    // Restarted, the bootstrap peer has the same identity, so the same multiaddr.
    boot.child.kill('SIGTERM')
    expect(await boot.exited).toBe(0)
    const again = await startAgent(env, 30_000, { launcher: script('start-bootstrap.sh'), args: [] })
    expect(printed(again)).toBe(multiaddr)
    const usage = await run('sh', [join(ROOT, 'bootstrap', 'join.sh')], { cwd: dir })
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('usage:')
  }, 120_000)
})
