/**
 * Multi-host clusters in network namespaces (issue #6): ten hosts, each with its own address on a
 * virtual LAN, run the real CLI with the environment of docker/compose.yml and
 * docker/swarm-stack.yml (host 0 is the `bootstrap` service, hosts 1-8 are `agent` replicas, host 9
 * is an external peer). Scenarios, in order: mDNS-only discovery; DNS discovery with mDNS off;
 * an external peer joining through the bootstrap multiaddr only; kill -9 of a council seat holder;
 * a partition between two groups and its healing; a rolling restart keeping identities.
 * Membership views and council rosters are asserted at every step.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, killAll, startAgent, type StartedAgent } from './helpers/cli.js'
import { Cluster, type Host } from './helpers/cluster.js'
import { serviceEnvFor, type Manifest } from './helpers/cluster-env.js'
import { netnsUnavailableReason, reportSkip } from './helpers/netns.js'
import { waitFor } from './helpers/wait.js'

const JOIN_SCRIPT = fileURLToPath(new URL('../bootstrap/join.sh', import.meta.url))
const MULTIADDR_SCRIPT = fileURLToPath(new URL('../bootstrap/peer-multiaddr.sh', import.meta.url))
const AGENTS = 8
const BOOT = 0
const EXTERNAL = AGENTS + 1
const HTTP_PORT = 8080
const TPM = 'tpm'
const ARCH = 'senior-software-architect'

function missingTool(): string | undefined {
  for (const tool of ['dnsmasq', 'curl']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`
  }
  return undefined
}
const unavailable = netnsUnavailableReason() ?? missingTool()
reportSkip('multi-host cluster tests', unavailable)
// In CI the namespace tests must run: a skip there would hide a broken environment.
if (unavailable !== undefined && process.env.CI === 'true') {
  throw new Error(`cluster tests cannot run in CI: ${unavailable}`)
}

interface Peer {
  peerId: string
  name: string
  state: string
}
interface Council {
  id: string
  state: string
  epoch: number
  coordinator: string | null
  roster: Array<{ role: string; peerId: string }>
  members: string[]
}

describe.skipIf(unavailable !== undefined)(
  `multi-host cluster in network namespaces${unavailable !== undefined ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let cluster: Cluster
    let dir: string
    /** The running agent of each host (undefined while stopped). */
    const procs: Array<StartedAgent | undefined> = []
    const peerIds: string[] = []
    let manifest: Manifest = 'compose'
    let mdnsTag = ''

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'conclave-cluster-'))
      cluster = Cluster.create(AGENTS + 2)
      const agentIps = cluster.hosts.slice(1, AGENTS + 1).map(h => h.ip)
      // As Docker's DNS answers on the network: the service names, and Swarm's tasks.<service>.
      await cluster.startDns(dir, { bootstrap: [host(BOOT).ip], agent: agentIps, 'tasks.agent': agentIps })
    }, 60_000)

    afterAll(async () => {
      await killAll()
      const id = cluster?.id
      cluster?.destroy()
      await rm(dir, { recursive: true, force: true })
      // Nothing of the cluster may be left behind, also when a test failed.
      if (id !== undefined) {
        expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(`cnc${id}`)
      }
    })

    const host = (i: number): Host => cluster.hosts[i] as Host
    const running = (): number[] => procs.flatMap((p, i) => (p === undefined ? [] : [i]))
    const get = <T>(i: number, path: string): T =>
      cluster.request(host(i), HTTP_PORT, path, undefined, procs[i]?.token).body as T

    async function envOf(i: number, overrides: Record<string, string> = {}): Promise<Record<string, string>> {
      const env = await serviceEnvFor(
        manifest,
        i === BOOT ? 'bootstrap' : 'agent',
        i,
        dir,
        i === BOOT ? 'bootstrap' : `agent-${i}`
      )
      return { ...env, ...(manifest === 'compose' ? { CONCLAVE_MDNS_SERVICE_TAG: mdnsTag } : {}), ...overrides }
    }

    async function start(i: number, overrides: Record<string, string> = {}): Promise<StartedAgent> {
      const agent = await startAgent(await envOf(i, overrides), 60_000, { netns: host(i).ns })
      procs[i] = agent
      return agent
    }

    /** The external peer: bootstrap/join.sh with the bootstrap multiaddr (from peer-multiaddr.sh), nothing else. */
    async function startExternal(): Promise<StartedAgent> {
      const printed = spawnSync(
        'ip',
        [
          'netns',
          'exec',
          host(EXTERNAL).ns,
          'sh',
          MULTIADDR_SCRIPT,
          'bootstrap',
          `http://${host(BOOT).ip}:${HTTP_PORT}`
        ],
        { encoding: 'utf8', env: { ...process.env, CONCLAVE_API_TOKEN: (procs[BOOT] as StartedAgent).token } }
      )
      expect(printed.status, printed.stderr).toBe(0)
      const multiaddr = printed.stdout.trim()
      expect(multiaddr).toBe(`/dns4/bootstrap/tcp/4001/p2p/${peerIds[BOOT] as string}`)
      const env = {
        CONCLAVE_NAME: 'external',
        CONCLAVE_DATA_DIR: join(dir, 'external'),
        CONCLAVE_HTTP: `0.0.0.0:${HTTP_PORT}`,
        CONCLAVE: `${process.execPath} ${CLI}`
      }
      const agent = await startAgent(env, 60_000, {
        netns: host(EXTERNAL).ns,
        launcher: ['sh', JOIN_SCRIPT],
        args: [multiaddr]
      })
      procs[EXTERNAL] = agent
      return agent
    }

    async function stop(i: number, signal: 'SIGTERM' | 'SIGKILL'): Promise<number | string> {
      const agent = procs[i] as StartedAgent
      procs[i] = undefined
      agent.child.kill(signal)
      return await agent.exited
    }

    /** Wait until every observer's view holds every target (not itself) in `state`. */
    async function views(observers: number[], targets: number[], state: string, timeoutMs = 60_000): Promise<void> {
      let last = ''
      await waitFor(
        () =>
          observers.every(o => {
            const seen = new Map(get<Peer[]>(o, '/v1/peers').map(p => [p.peerId, p.state]))
            const wrong = targets.filter(t => t !== o && seen.get(peerIds[t] as string) !== state)
            if (wrong.length > 0) {
              last = `host ${o} sees ${wrong.map(t => `${t}:${seen.get(peerIds[t] as string) ?? 'unknown'}`).join(' ')}`
            }
            return wrong.length === 0
          }),
        { timeoutMs, intervalMs: 250, message: () => `not every view holds ${state}: ${last}` }
      )
    }

    /** Every host in `on` reports council `id` with one identical roster and epoch passing `accept`. */
    async function agreed(
      on: number[],
      id: string,
      accept: (c: Council) => boolean,
      timeoutMs = 60_000
    ): Promise<Council> {
      let last = ''
      let view: Council | undefined
      await waitFor(
        () => {
          const all = on.map(i => get<Council>(i, `/v1/councils/${id}`))
          // Host numbers stand for peer ids: who coordinates, holds each seat, and counts as a member.
          const hostOf = (peer: string | null): string => String(peerIds.indexOf(peer ?? ''))
          last = all
            .map(
              (c, k) =>
                `${on[k] as number}:${c.state}@${c.epoch} coordinator ${hostOf(c.coordinator)} roster ${c.roster.map(s => `${s.role}=${hostOf(s.peerId)}`).join(',')} members ${c.members.map(hostOf).join(',')}`
            )
            .join('\n')
          const first = all[0] as Council
          const same = all.every(
            c =>
              c.epoch === first.epoch &&
              c.state === first.state &&
              JSON.stringify(c.roster) === JSON.stringify(first.roster)
          )
          if (same && accept(first)) view = first
          return view !== undefined
        },
        { timeoutMs, intervalMs: 250, message: () => `council views: ${last}` }
      )
      return view as Council
    }

    const holderOf = (c: Council, role: string): number =>
      peerIds.indexOf(c.roster.find(s => s.role === role)?.peerId ?? '')
    const agentHosts = Array.from({ length: AGENTS }, (_, k) => k + 1)
    const allHosts = [BOOT, ...agentHosts, EXTERNAL]

    it('mDNS only (Compose environment, bootstrap and DNS names cleared): all hosts find each other across the LAN', async () => {
      manifest = 'compose'
      mdnsTag = `_cnc-${randomBytes(4).toString('hex')}._udp.local`
      const started = await Promise.all(
        [BOOT, ...agentHosts].map(async i => await start(i, { CONCLAVE_BOOTSTRAP: '', CONCLAVE_DNS_PEERS: '' }))
      )
      started.forEach((a, i) => {
        peerIds[i] = a.peerId
      })
      expect((await envOf(1)).CONCLAVE_MDNS).toBe('true')
      await views(running(), running(), 'alive')
      for (const i of running()) expect(await stop(i, 'SIGTERM'), `host ${i} exit code`).toBe(0)
    })

    it('DNS discovery with mDNS off (Swarm environment, no bootstrap address): every agent finds all others through tasks.agent', async () => {
      manifest = 'swarm'
      const keygen = spawnSync(
        process.execPath,
        [CLI, 'keygen', '--out', join(dir, 'secrets', 'conclave_bootstrap_key')],
        { encoding: 'utf8' }
      )
      expect(keygen.status, keygen.stderr).toBe(0)
      const agents = await Promise.all(agentHosts.map(async i => await start(i, { CONCLAVE_BOOTSTRAP: '' })))
      agents.forEach((a, k) => {
        peerIds[k + 1] = a.peerId
      })
      expect((await envOf(1)).CONCLAVE_MDNS).toBe('false')
      await views(agentHosts, agentHosts, 'alive')
      // The bootstrap service (its identity from the secret) finds them through tasks.agent too.
      peerIds[BOOT] = (await start(BOOT)).peerId
      expect(peerIds[BOOT]).toBe(keygen.stdout.trim())
      await views([BOOT, ...agentHosts], [BOOT, ...agentHosts], 'alive')
    })

    it('an external peer joins with the bootstrap multiaddr only and sees every replica', async () => {
      peerIds[EXTERNAL] = (await startExternal()).peerId
      await views(allHosts, allHosts, 'alive')
    })

    let council = ''
    it('a council forms across hosts; kill -9 of its tpm holder: dead everywhere, the seat moves, the host comes back with its identity', async () => {
      const opened = cluster.request(
        host(1),
        HTTP_PORT,
        '/v1/councils',
        { project: 'cluster', coreRoles: [TPM, ARCH], optionalRoles: ['coder'] },
        procs[1]?.token
      )
      expect(opened.status).toBe(201)
      council = opened.body.id as string
      const formed = await agreed(allHosts, council, c => c.state === 'active' && c.roster.length === 3)
      const victim = holderOf(formed, TPM)
      expect(agentHosts).toContain(victim)

      expect(await stop(victim, 'SIGKILL')).toBe('SIGKILL')
      const others = allHosts.filter(i => i !== victim)
      await views(others, [victim], 'dead')
      const after = await agreed(
        others,
        council,
        c => c.state === 'active' && c.epoch > formed.epoch && holderOf(c, TPM) !== victim
      )
      expect(holderOf(after, TPM)).not.toBe(-1)
      expect(holderOf(after, ARCH)).toBe(holderOf(formed, ARCH))

      const back = await start(victim)
      expect(back.peerId).toBe(peerIds[victim])
      await views(allHosts, [victim], 'alive')
      // It claims again and is counted among the members of a later epoch.
      await agreed(allHosts, council, c => c.state === 'active' && c.members.length === AGENTS)
    })

    it('a partition: the side with a majority of members moves the seat and commits; the other commits nothing; healing converges', async () => {
      const before = await agreed(allHosts, council, c => c.state === 'active' && c.members.length === AGENTS)
      const tpm = holderOf(before, TPM)
      const arch = holderOf(before, ARCH)
      // The minority: the tpm holder and one more agent (2 of 8 members); the rest keep 6 of 8.
      const minority = [tpm, agentHosts.find(i => i !== tpm && i !== arch) as number]
      const majority = allHosts.filter(i => !minority.includes(i))
      cluster.partition(minority.map(host))
      let moved: Council
      try {
        await views(majority, minority, 'dead')
        await views(minority, majority, 'dead')
        moved = await agreed(
          majority,
          council,
          c => c.state === 'active' && c.epoch > before.epoch && !minority.includes(holderOf(c, TPM))
        )
        expect(holderOf(moved, ARCH)).toBe(arch)
        for (const i of minority) {
          const seen = get<Council>(i, `/v1/councils/${council}`)
          expect(seen.epoch, `minority host ${i} committed`).toBe(before.epoch)
          expect(seen.state).toBe('degraded')
        }
      } finally {
        // Healed whatever happened, so that a failure here does not take the next test down too.
        cluster.heal()
      }

      await views(allHosts, allHosts, 'alive', 90_000)
      const healed = await agreed(
        allHosts,
        council,
        c => c.state === 'active' && c.epoch >= moved.epoch && c.members.length === AGENTS,
        90_000
      )
      expect(minority).not.toContain(holderOf(healed, TPM))
    })

    it('a rolling restart of every host, one at a time, keeps every identity and the council', async () => {
      const before = await agreed(allHosts, council, c => c.state === 'active')
      for (const i of allHosts) {
        expect(await stop(i, 'SIGTERM'), `host ${i} exit code`).toBe(0)
        const others = allHosts.filter(k => k !== i)
        await views(others, [i], 'left')
        const back = i === EXTERNAL ? await startExternal() : await start(i)
        expect(back.peerId, `host ${i} identity`).toBe(peerIds[i])
        await views(allHosts, [i], 'alive')
      }
      await views(allHosts, allHosts, 'alive')
      const after = await agreed(allHosts, council, c => c.state === 'active' && c.members.length === AGENTS)
      expect(after.epoch).toBeGreaterThanOrEqual(before.epoch)
    })
  }
)
