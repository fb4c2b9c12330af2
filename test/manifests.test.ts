/**
 * Manifest conformance (issue #6): the Dockerfile, Compose, Swarm and Kubernetes files must agree
 * with what the program does. Every CONCLAVE_* variable they set is run through the real
 * `conclave config` (with mounted volumes and secrets mapped to folders made here, and secrets
 * made by the scripts the files tell users to run); ports, health paths and volumes are compared
 * with the settings.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OPTIONS } from '../src/config/index.js'
import { CLI } from './helpers/cli.js'
import { ROOT } from './helpers/paths.js'
import { run, type RunResult } from './helpers/run.js'
import {
  conclaveEnv,
  dockerfileInstructions,
  mapPaths,
  podEnv,
  portOf,
  readYaml,
  readYamlDocuments,
  renderSwarmTemplates,
  serviceEnv,
  DOCKER_DIR,
  type Env
} from './helpers/manifests.js'

const CONCLAVE = `${process.execPath} ${CLI}`

/** A command with exactly the CONCLAVE_* variables of `env` (none inherited from the test's own). */
async function runWith(cmd: string, args: string[], env: Env = {}): Promise<RunResult> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONCLAVE_')))
  return await run(cmd, args, { cwd: ROOT, env: { ...clean, ...env } })
}

/** `conclave config` with exactly this CONCLAVE_* environment; fails the test on exit ≠ 0. */
async function acceptedByConfig(env: Env, label: string): Promise<Record<string, any>> {
  const result = await runWith(process.execPath, [CLI, 'config'], env)
  expect(result.code, `${label}: conclave config rejected ${JSON.stringify(env)}:\n${result.stderr}`).toBe(0)
  return (JSON.parse(result.stdout) as { config: Record<string, any> }).config
}

const KNOWN = new Set(OPTIONS.map(o => o.env))
function expectKnown(env: Env, label: string): void {
  for (const name of Object.keys(conclaveEnv(env))) {
    expect(KNOWN.has(name), `${label}: ${name} is not a setting`).toBe(true)
  }
}

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conclave-manifests-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** A folder standing in for a container path. */
async function folder(name: string): Promise<string> {
  const path = join(dir, name)
  await runWith('mkdir', ['-p', path])
  return path
}

describe('Dockerfile', () => {
  it('multi-stage on Node 22, production dependencies, non-root, /data volume, ports, health check, SIGTERM', async () => {
    const text = await readFile(join(DOCKER_DIR, 'Dockerfile'), 'utf8')
    const ins = dockerfileInstructions(text)
    const all = (name: string): string[] => ins.filter(([n]) => n === name).map(([, v]) => v)
    const last = (name: string): string | undefined => all(name).at(-1)

    expect(all('ARG').some(a => /^NODE_IMAGE=node:22\b/.test(a))).toBe(true)
    expect(all('FROM').length).toBeGreaterThanOrEqual(2)
    expect(all('RUN').some(r => r.includes('npm ci') && r.includes('--omit=dev'))).toBe(true)
    const user = last('USER')
    expect(user).toBeDefined()
    expect(['root', '0']).not.toContain(user)
    expect(last('STOPSIGNAL')).toBe('SIGTERM')

    // Its environment is only CONCLAVE_* settings the program accepts (and NODE_ENV).
    const env: Env = {}
    for (const line of all('ENV')) {
      for (const m of line.matchAll(/([A-Z_]+)=(\S+)/g)) env[m[1] as string] = m[2] as string
    }
    expect(Object.keys(env).filter(k => !k.startsWith('CONCLAVE_'))).toEqual(['NODE_ENV'])
    expectKnown(env, 'Dockerfile')
    const volume = JSON.parse(last('VOLUME') ?? '[]') as string[]
    expect(volume).toContain(env.CONCLAVE_DATA_DIR)
    const config = await acceptedByConfig(
      mapPaths(conclaveEnv(env), { '/data': await folder('image-data') }),
      'Dockerfile'
    )

    const exposed = (last('EXPOSE') ?? '').split(/\s+/).map(p => Number(p.split('/')[0]))
    expect(exposed).toContain(portOf(config.listen[0] as string))
    expect(exposed).toContain(config.http.port)

    // The health check is the script test/deploy.test.ts runs against a real agent.
    expect(last('HEALTHCHECK')).toMatch(/CMD \["node", "\/app\/docker\/healthcheck\.mjs"\]/)
    expect(all('COPY').some(c => c.includes('docker/healthcheck.mjs'))).toBe(true)
    expect(last('ENTRYPOINT')).toContain('/app/dist/src/cli/bin.js')
    expect(last('CMD')).toBe('["start"]')
  })

  it('copies only files that exist and that .dockerignore lets through', async () => {
    const ignore = (await readFile(join(ROOT, '.dockerignore'), 'utf8'))
      .split('\n')
      .map(l => l.trim())
      .filter(l => l !== '' && !l.startsWith('#'))
    const copies = dockerfileInstructions(await readFile(join(DOCKER_DIR, 'Dockerfile'), 'utf8'))
      .filter(([n, v]) => n === 'COPY' && !v.startsWith('--from'))
      .flatMap(([, v]) => v.split(/\s+/).slice(0, -1))
    expect(copies.length).toBeGreaterThan(3)
    for (const source of copies) {
      expect(existsSync(join(ROOT, source)), `${source} is missing`).toBe(true)
      expect(
        ignore.filter(p => source === p || source.startsWith(`${p}/`)),
        `${source} is excluded by .dockerignore`
      ).toEqual([])
    }
  })
})

describe('docker/compose.yml', () => {
  it('34+ agent replicas on one bridge network, per-replica data volumes, every setting accepted', async () => {
    const compose = await readYaml('compose.yml')
    const services = compose.services as Record<string, any>
    expect(services.agent.deploy.replicas).toBeGreaterThanOrEqual(34)
    expect(Object.values(compose.networks as Record<string, any>).map(n => n.driver)).toEqual(['bridge'])

    // tenant-init makes the second tenant's identity and credential, as it does under Compose.
    const init = services['tenant-init']
    const secrets = await folder('compose-beta-secrets')
    const initEnv = {
      ...serviceEnv(init),
      AUTHORITY_DIR: await folder('compose-beta-authority'),
      SECRETS_DIR: secrets,
      OWNER: '',
      CONCLAVE
    }
    const made = await runWith('sh', [join(DOCKER_DIR, 'tenant-init.sh')], initEnv)
    expect(made.code, made.stderr).toBe(0)
    expect(init.entrypoint).toEqual(['/bin/sh', '/app/docker/tenant-init.sh'])

    const agents = Object.entries(services).filter(
      ([, s]) => s.image === 'conclave:latest' && s.entrypoint === undefined
    )
    expect(agents.map(([n]) => n).sort()).toEqual(['agent', 'agent-beta', 'bootstrap'])
    for (const [name, service] of agents) {
      const env = serviceEnv(service)
      expectKnown(env, name)
      // The data dir is on a volume of its own: named, or anonymous (one per replica).
      const targets = (service.volumes as string[]).map(v =>
        v.split(':').length === 1 ? v : (v.split(':')[1] as string)
      )
      expect(targets, `${name}: CONCLAVE_DATA_DIR is not on a volume`).toContain(env.CONCLAVE_DATA_DIR)
      if (name === 'agent') expect(service.volumes).toEqual([env.CONCLAVE_DATA_DIR])
      const mounts: Record<string, string> = { '/data': await folder(`compose-${name}-data`), '/secrets': secrets }
      const config = await acceptedByConfig(mapPaths(conclaveEnv(env), mounts), name)
      // Names it dials are services of this file, on the port they listen on.
      for (const peer of config.dnsPeers as Array<{ host: string; port: number }>) {
        expect(services[peer.host], `${name} dials unknown service ${peer.host}`).toBeDefined()
        expect(peer.port).toBe(portOf(serviceEnv(services[peer.host]).CONCLAVE_LISTEN ?? ''))
      }
      for (const addr of config.bootstrap as string[]) {
        expect(services[addr.split('/')[2] as string], `${name}: ${addr}`).toBeDefined()
      }
      expect(config.mdns).toBe(true)
      // The health check is the script the image ships (and test/deploy.test.ts runs).
      expect(service.healthcheck?.test).toEqual(['CMD', 'node', '/app/docker/healthcheck.mjs'])
      for (const published of (service.ports ?? []) as string[]) {
        const [, inner] = published.split(':')
        expect([config.http.port, portOf(config.listen[0])]).toContain(Number(inner))
      }
    }
    expect(serviceEnv(services['agent-beta']).CONCLAVE_REQUIRE_TENANT).toBe('true')
  })
})

describe('docker/swarm-stack.yml', () => {
  it('overlay network without mDNS, tasks.<service> DNS discovery, rolling updates, every setting accepted', async () => {
    const stack = await readYaml('swarm-stack.yml')
    const services = stack.services as Record<string, any>
    expect(services.agent.deploy.replicas).toBeGreaterThanOrEqual(34)
    expect(services.agent.deploy.update_config.order).toBe('stop-first')
    expect(services.agent.deploy.update_config.parallelism).toBe(1)
    expect(Object.values(stack.networks as Record<string, any>).map(n => n.driver)).toEqual(['overlay'])

    // The bootstrap identity is a secret made by `conclave keygen --out`, as the file says.
    const secretDir = await folder('swarm-secrets')
    const keygen = await runWith(process.execPath, [CLI, 'keygen', '--out', join(secretDir, 'conclave_bootstrap_key')])
    expect(keygen.code, keygen.stderr).toBe(0)
    for (const [name, service] of Object.entries(services)) {
      for (const slot of [1, 34]) {
        const env = renderSwarmTemplates(serviceEnv(service), { slot })
        expectKnown(env, name)
        const config = await acceptedByConfig(
          mapPaths(conclaveEnv(env), { '/data': await folder(`swarm-${name}-data`), '/run/secrets': secretDir }),
          `${name} slot ${slot}`
        )
        expect(config.mdns, `${name}: multicast does not cross an overlay`).toBe(false)
        expect(config.dnsPeers.map((p: { host: string }) => p.host)).toEqual(['tasks.agent'])
        expect(config.dnsPeers[0].port).toBe(portOf(serviceEnv(services.agent).CONCLAVE_LISTEN ?? ''))
        if (config.identity !== undefined) {
          expect(service.secrets.map((s: { target: string }) => `/run/secrets/${s.target}`)).toContain(
            serviceEnv(service).CONCLAVE_IDENTITY
          )
        }
        const targets = (service.volumes as string[]).map(v => v.split(':')[1])
        expect(targets.some(t => serviceEnv(service).CONCLAVE_DATA_DIR?.startsWith(t as string))).toBe(true)
      }
    }
  })

  it('mounts no Docker socket in any manifest', async () => {
    for (const name of ['compose.yml', 'swarm-stack.yml', 'k8s/statefulset.yaml']) {
      expect(await readFile(join(DOCKER_DIR, name), 'utf8'), name).not.toContain('docker.sock')
    }
  })
})

describe('docker/k8s', () => {
  it('StatefulSet with a headless Service, probes on /health and /ready, PDB, credentials from a Secret', async () => {
    const docs = [
      ...(await readYamlDocuments('k8s/namespace.yaml')),
      ...(await readYamlDocuments('k8s/service.yaml')),
      ...(await readYamlDocuments('k8s/statefulset.yaml')),
      ...(await readYamlDocuments('k8s/pdb.yaml'))
    ]
    const kind = (k: string): any[] => docs.filter(d => d.kind === k)
    const [ns] = kind('Namespace')
    const [set] = kind('StatefulSet')
    const [pdb] = kind('PodDisruptionBudget')
    const headless = kind('Service').find(s => s.spec.clusterIP === 'None')
    expect(headless).toBeDefined()
    for (const d of docs.filter(d => d.kind !== 'Namespace')) expect(d.metadata.namespace).toBe(ns.metadata.name)

    expect(set.spec.serviceName).toBe(headless.metadata.name)
    // An agent is ready only once it has a peer: unready pods must be in DNS, and start together.
    expect(headless.spec.publishNotReadyAddresses).toBe(true)
    expect(set.spec.podManagementPolicy).toBe('Parallel')
    const labels = set.spec.template.metadata.labels
    for (const selector of [headless.spec.selector, set.spec.selector.matchLabels, pdb.spec.selector.matchLabels]) {
      expect(labels).toMatchObject(selector)
    }

    const container = set.spec.template.spec.containers[0]
    const ports = Object.fromEntries(
      container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort])
    )
    expect(container.livenessProbe.httpGet.path).toBe('/health')
    expect(container.readinessProbe.httpGet.path).toBe('/ready')

    // Credentials as the script makes them, for the first pod, mounted where the env says.
    const tenantDir = await folder('k8s-tenant')
    const created = await runWith(process.execPath, [
      CLI,
      'tenant',
      'create',
      '--id',
      'acme',
      '--out',
      join(tenantDir, 'acme.tenant.json')
    ])
    expect(created.code, created.stderr).toBe(0)
    const secretDir = join(tenantDir, 'conclave-credentials')
    const made = await runWith(
      'sh',
      [join(ROOT, 'bootstrap', 'k8s-credentials.sh'), join(tenantDir, 'acme.tenant.json'), '2', secretDir],
      { CONCLAVE }
    )
    expect(made.code, made.stderr).toBe(0)
    expect(
      made.stdout
        .trim()
        .split('\n')
        .map(l => l.split(' ')[0])
    ).toEqual(['conclave-0', 'conclave-1'])

    const mounts = Object.fromEntries(
      container.volumeMounts.map((m: { name: string; mountPath: string }) => [m.name, m.mountPath])
    )
    const secretVolume = set.spec.template.spec.volumes.find((v: { secret?: unknown }) => v.secret !== undefined)
    expect(secretVolume.secret.secretName).toBe('conclave-credentials')
    // The operator token comes from a Secret shared by the replicas, when it exists.
    const tokenRef = container.env.find((e: { name: string }) => e.name === 'CONCLAVE_API_TOKEN')?.valueFrom
      ?.secretKeyRef
    expect(tokenRef).toMatchObject({ name: 'conclave-api-token', key: 'token', optional: true })
    const sharedToken = 'k8s-operator-token-'.padEnd(44, 'x')
    for (const pod of ['conclave-0', 'conclave-1']) {
      const env = podEnv(
        container,
        { name: pod, ip: '127.0.0.1' },
        pod === 'conclave-0' ? { 'conclave-api-token/token': sharedToken } : {}
      )
      expectKnown(env, pod)
      const config = await acceptedByConfig(
        mapPaths(conclaveEnv(env), {
          [mounts[secretVolume.name]]: secretDir,
          [mounts.data]: await folder(`k8s-${pod}-data`)
        }),
        pod
      )
      expect(config.name).toBe(pod)
      // `conclave config` accepts the token and never prints it.
      expect(config.apiToken).toBe(pod === 'conclave-0' ? '***' : undefined)
      expect(env.CONCLAVE_DATA_DIR).toBe(mounts.data)
      expect(set.spec.volumeClaimTemplates.map((v: { metadata: { name: string } }) => v.metadata.name)).toContain(
        'data'
      )
      expect(config.http.port).toBe(ports.http)
      expect(portOf(config.listen[0])).toBe(ports.p2p)
      expect(config.mdns).toBe(false)
      expect(config.dnsPeers).toEqual([
        { host: `${headless.metadata.name}.${ns.metadata.name}.svc.cluster.local`, port: headless.spec.ports[0].port }
      ])
      expect(config.bootstrap[0]).toContain(
        `/dns4/${set.metadata.name}-0.${headless.metadata.name}.${ns.metadata.name}.svc.cluster.local/tcp/${ports.p2p}`
      )
    }
  })
})
