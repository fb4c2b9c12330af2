import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, ensureDataDir, loadConfig, OPTIONS } from '../../src/config/index.js'

function problems(fn: () => unknown): Array<{ source: string; message: string }> {
  try {
    fn()
  } catch (err) {
    expect((err as Error).name).toBe('ConfigError')
    return (err as ConfigError).problems
  }
  throw new Error('expected a ConfigError')
}

describe('config', () => {
  it('applies defaults', () => {
    const { config, sources } = loadConfig({ env: {} })
    expect(config.listen).toEqual(['/ip4/0.0.0.0/tcp/4001'])
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080 })
    expect(config.apiToken).toBeUndefined()
    expect(config.httpHosts).toEqual([])
    expect(config.metricsPublic).toBe(false)
    expect(config.mdns).toBe(true)
    expect(config.roles).toEqual([])
    expect(sources.listen).toBe('default')
  })

  it('lets flags win over env, and env over defaults', () => {
    const { config, sources } = loadConfig({
      env: { CONCLAVE_NAME: 'from-env', CONCLAVE_ROLES: 'tpm, coder,tpm', CONCLAVE_MDNS: 'false' },
      flags: { name: 'from-flag' }
    })
    expect(config.name).toBe('from-flag')
    expect(sources.name).toBe('--name')
    expect(config.roles).toEqual(['tpm', 'coder'])
    expect(config.mdns).toBe(false)
    expect(sources.mdns).toBe('CONCLAVE_MDNS')
  })

  it('parses DNS peers, bootstrap forms and IPv6 HTTP addresses', () => {
    const { config } = loadConfig({
      env: {
        CONCLAVE_DNS_PEERS: 'tasks.agent:4001,other',
        CONCLAVE_BOOTSTRAP:
          '/dns4/boot/tcp/4001/p2p/12D3KooWRYxSpHd2msGFKYsXEXtKbr6TYALg6Y1j973ikZu1dqoD,/ip4/10.0.0.1/tcp/4001,/dnsaddr/bootstrap.example',
        CONCLAVE_HTTP: '[::1]:9000'
      }
    })
    expect(config.dnsPeers).toEqual([
      { host: 'tasks.agent', port: 4001 },
      { host: 'other', port: 4001 }
    ])
    expect(config.bootstrap).toHaveLength(3)
    expect(config.http).toEqual({ host: '::1', port: 9000 })
  })

  it('names every bad variable and flag at once', () => {
    const found = problems(() =>
      loadConfig({
        env: {
          CONCLAVE_LISTEN: '/ip4/not-an-ip/tcp/1',
          CONCLAVE_HTTP: 'localhost:99999',
          CONCLAVE_MDNS: 'maybe',
          CONCLAVE_TYPO: 'x'
        },
        flags: { bootstrap: '/ip4/1.2.3.4/udp/1', roles: 'Bad Role' }
      })
    )
    const sources = found.map(p => p.source).sort()
    expect(sources).toEqual([
      '--bootstrap',
      '--roles',
      'CONCLAVE_HTTP',
      'CONCLAVE_LISTEN',
      'CONCLAVE_MDNS',
      'CONCLAVE_TYPO'
    ])
    expect(found.find(p => p.source === 'CONCLAVE_HTTP')?.message).toContain('99999')
    expect(found.find(p => p.source === 'CONCLAVE_TYPO')?.message).toContain('unknown variable')
  })

  it('rejects listen addresses that are not TCP or carry a peer id', () => {
    expect(problems(() => loadConfig({ env: { CONCLAVE_LISTEN: '/ip4/127.0.0.1/udp/1' } }))[0]?.source).toBe(
      'CONCLAVE_LISTEN'
    )
    expect(
      problems(() =>
        loadConfig({
          env: { CONCLAVE_LISTEN: '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWRYxSpHd2msGFKYsXEXtKbr6TYALg6Y1j973ikZu1dqoD' }
        })
      )[0]?.message
    ).toContain('/p2p/')
  })

  it('has an env var and a flag for every setting, with unique names', () => {
    expect(new Set(OPTIONS.map(o => o.env)).size).toBe(OPTIONS.length)
    expect(new Set(OPTIONS.map(o => o.flag)).size).toBe(OPTIONS.length)
    for (const o of OPTIONS) expect(o.env).toMatch(/^CONCLAVE_[A-Z_]+$/)
  })

  it('reports an unusable data dir by the setting that chose it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conclave-cfg-'))
    try {
      await ensureDataDir(loadConfig({ env: { CONCLAVE_DATA_DIR: join(dir, 'a', 'b') } }))
      const err = await ensureDataDir(
        loadConfig({ env: {}, flags: { 'data-dir': '/proc/conclave-cannot-exist' } })
      ).catch(e => e as ConfigError)
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).problems[0]?.source).toBe('--data-dir')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
