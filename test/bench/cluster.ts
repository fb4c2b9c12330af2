/**
 * `npm run bench:cluster`: time until every replica sees every other in the network-namespace
 * cluster (one agent process per host, each with its own address on a virtual LAN), with mDNS
 * (the Compose environment) and with DNS discovery (the Swarm environment, mDNS off).
 * Prints the figures and writes them to docs/benchmarks.md.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLI, killAll, startAgent, type StartedAgent } from '../helpers/cli.js'
import { Cluster } from '../helpers/cluster.js'
import { serviceEnvFor, type Manifest } from '../helpers/cluster-env.js'
import { netnsUnavailableReason } from '../helpers/netns.js'
import { environment, median, writeSection } from './report.js'

const out = (line: string): void => {
  process.stdout.write(line + '\n')
}
const SIZES = (process.env.BENCH_CLUSTER_SIZES ?? '9,17').split(',').map(Number)
const RUNS = Number(process.env.BENCH_CLUSTER_RUNS ?? 3)
const TIMEOUT_MS = 120_000

interface Sample {
  startMs: number
  fullViewMs: number | null
  afterLastStartMs: number | null
}

/** Start every host's agent at once; time until every view holds every other host alive. */
async function run(cluster: Cluster, n: number, manifest: Manifest, dir: string): Promise<Sample> {
  const tag = `_cncb-${randomBytes(4).toString('hex')}._udp.local`
  const t0 = Date.now()
  const agents = await Promise.all(
    cluster.hosts.slice(0, n).map(async (host, i) => {
      const service = i === 0 ? 'bootstrap' : 'agent'
      const env = await serviceEnvFor(
        manifest,
        service,
        i,
        join(dir, `run-${t0}`),
        i === 0 ? 'bootstrap' : `agent-${i}`,
        join(dir, 'secrets')
      )
      // mDNS alone (its own service tag), or DNS alone: no bootstrap address on the agents.
      const overrides: Record<string, string> =
        manifest === 'compose'
          ? { CONCLAVE_BOOTSTRAP: '', CONCLAVE_DNS_PEERS: '', CONCLAVE_MDNS_SERVICE_TAG: tag }
          : i === 0
            ? {}
            : { CONCLAVE_BOOTSTRAP: '' }
      return await startAgent({ ...env, ...overrides }, TIMEOUT_MS, { netns: host.ns })
    })
  )
  const started = Date.now()
  const ids = new Set(agents.map(a => a.peerId))
  const pending = new Set(agents.map((_, i) => i))
  let fullViewMs: number | null = null
  while (Date.now() - t0 < TIMEOUT_MS) {
    for (const i of [...pending]) {
      try {
        const peers = cluster.request(cluster.hosts[i] as (typeof cluster.hosts)[number], 8080, '/v1/peers')
          .body as Array<{ peerId: string; state: string }>
        if (peers.filter(p => ids.has(p.peerId) && p.state === 'alive').length === n - 1) pending.delete(i)
      } catch {}
    }
    if (pending.size === 0) {
      fullViewMs = Date.now() - t0
      break
    }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  await stopAll(agents)
  return {
    startMs: started - t0,
    fullViewMs,
    afterLastStartMs: fullViewMs === null ? null : fullViewMs - (started - t0)
  }
}

async function stopAll(agents: StartedAgent[]): Promise<void> {
  for (const a of agents) a.child.kill('SIGTERM')
  await Promise.all(agents.map(async a => await a.exited))
}

async function main(): Promise<void> {
  const reason =
    netnsUnavailableReason() ??
    (spawnSync('sh', ['-c', 'command -v dnsmasq && command -v curl']).status === 0
      ? undefined
      : 'dnsmasq and curl are needed')
  if (reason !== undefined) throw new Error(`bench:cluster cannot run: ${reason}`)
  const dir = await mkdtemp(join(tmpdir(), 'conclave-bench-cluster-'))
  const cluster = Cluster.create(Math.max(...SIZES))
  // Interrupted (Ctrl-C, a CI time limit): no namespace or process is left behind.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cluster.destroy()
      process.exit(130)
    })
  }
  const rows: string[] = []
  try {
    const ips = cluster.hosts.map(h => h.ip)
    spawnSync(process.execPath, [CLI, 'keygen', '--out', join(dir, 'secrets', 'conclave_bootstrap_key')])
    for (const n of SIZES) {
      const agents = ips.slice(1, n)
      await cluster.startDns(dir, { bootstrap: [ips[0] as string], agent: agents, 'tasks.agent': agents })
      for (const manifest of ['compose', 'swarm'] as Manifest[]) {
        const samples: Sample[] = []
        for (let r = 0; r < RUNS; r++) {
          const s = await run(cluster, n, manifest, dir)
          samples.push(s)
          out(
            `${manifest === 'compose' ? 'mDNS' : 'DNS '} n=${n} run ${r + 1}: processes up ${s.startMs} ms, full view ${s.fullViewMs ?? 'timeout'} ms (${s.afterLastStartMs ?? '-'} ms after the last agent started)`
          )
        }
        const ok = samples.filter(s => s.fullViewMs !== null)
        const label =
          manifest === 'compose' ? 'mDNS only (Compose environment)' : 'DNS `tasks.agent`, mDNS off (Swarm environment)'
        rows.push(
          `| ${label} | ${n} | ${ok.length}/${samples.length} | ${median(ok.map(s => s.fullViewMs as number)).toFixed(0)} | ${median(ok.map(s => s.afterLastStartMs as number)).toFixed(0)} | ${median(samples.map(s => s.startMs)).toFixed(0)} |`
        )
      }
    }
  } finally {
    await killAll()
    cluster.destroy()
    await rm(dir, { recursive: true, force: true })
  }
  const body = `## Discovery across hosts: network-namespace cluster

Command: \`npm run bench:cluster\` (${environment()}). One agent process per host, each host a network namespace with its own address on a virtual LAN (a bridge); all agents started at once with the environment of \`docker/compose.yml\` (mDNS) or \`docker/swarm-stack.yml\` (DNS: dnsmasq on the LAN answers \`tasks.agent\` with every agent's address). Host 0 is the \`bootstrap\` service. ${RUNS} runs each; medians.

| discovery | hosts | converged | full view, ms from spawning | ms after the last agent started | ms until every process had started |
|---|---|---|---|---|---|
${rows.join('\n')}

All agent processes share the machine's 2 cores: each loads Node and the libp2p stack, then spends CPU on every connection it sets up (about 27 ms each, see the discovery notes), so "after the last agent started" grows faster than the host count here; on real hosts each agent has its own CPU. Views are polled every 200 ms.`
  out(body)
  await writeSection('cluster', body)
}

await main()
