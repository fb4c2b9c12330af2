/**
 * `npm run bench:discovery`: time until every agent's view holds all others, and memory per
 * agent. Prints the figures and writes them to docs/benchmarks.md.
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Sim } from '../../src/sim/index.js'
import { createLoopbackNetns, netnsUnavailableReason, removeAllNetns } from '../helpers/netns.js'
import { meshFormation } from './fanout.js'
import { environment, median, writeSection } from './report.js'

const CLI = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url))
const out = (line: string): void => {
  process.stdout.write(line + '\n')
}

interface Row {
  scenario: string
  n: number
  fullViewMs: number | null
  note: string
}

/** In-process sim bootstrapped to agent-0 (DHT + gossip, mDNS off). */
async function inProcess(n: number, timeoutMs: number): Promise<Row> {
  const t0 = Date.now()
  const sim = await Sim.start({ agents: n })
  let fullViewMs: number | null = null
  try {
    while (Date.now() - t0 < timeoutMs) {
      if (sim.convergedCount() === n) {
        fullViewMs = Date.now() - t0
        break
      }
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    // Steady-state cost once formed: CPU of the whole process over 5 s.
    const cpu0 = process.cpuUsage()
    await new Promise(resolve => setTimeout(resolve, 5_000))
    const cpu = process.cpuUsage(cpu0)
    const idleCpu = (cpu.user + cpu.system) / 1000 / 5_000
    return {
      scenario: 'bootstrap + DHT, one process',
      n,
      fullViewMs,
      note: `${sim.convergedCount()}/${n} converged; idle CPU after forming ${(idleCpu * 100).toFixed(0)}% of one core for all ${n} agents`
    }
  } finally {
    await sim.stop()
  }
}

/** `conclave sim --mdns` inside a loopback-only network namespace (multicast stays inside). */
async function mdnsInNetns(n: number): Promise<Row> {
  const reason = netnsUnavailableReason()
  if (reason !== undefined) return { scenario: 'mDNS, one process', n, fullViewMs: null, note: `not run: ${reason}` }
  const ns = createLoopbackNetns('cnvb')
  try {
    const tag = `_cnvb-${randomBytes(4).toString('hex')}._udp.local`
    const r = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        ns,
        process.execPath,
        CLI,
        'sim',
        '--agents',
        String(n),
        '--mdns',
        '--mdns-service-tag',
        tag,
        '--http-base-port',
        '0',
        '--exit-when-converged',
        '--timeout-ms',
        '120000',
        '--json'
      ],
      { encoding: 'utf8', timeout: 180_000 }
    )
    const summary = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as {
      converged?: number
      convergedMs?: number | null
    }
    return {
      scenario: 'mDNS, one process',
      n,
      fullViewMs: summary.convergedMs ?? null,
      note: `${summary.converged ?? 0}/${n} converged (sim in a network namespace)`
    }
  } finally {
    removeAllNetns()
  }
}

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN)
}

/** Real `conclave start` processes on loopback: RSS of each once the mesh formed. */
async function processes(n: number): Promise<{ row: Row; rssMb: number[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'conclave-bench-'))
  const children: Array<ReturnType<typeof spawn>> = []
  const apis: string[] = []
  const token = randomBytes(32).toString('base64url')
  const t0 = Date.now()
  try {
    let seed = ''
    for (let i = 0; i < n; i++) {
      const child = spawn(process.execPath, [CLI, 'start'], {
        env: {
          ...process.env,
          CONCLAVE_NAME: `p${i}`,
          CONCLAVE_DATA_DIR: join(dir, `p${i}`),
          CONCLAVE_LISTEN: '/ip4/127.0.0.1/tcp/0',
          CONCLAVE_HTTP: '127.0.0.1:0',
          CONCLAVE_MDNS: 'false',
          CONCLAVE_BOOTSTRAP: seed,
          CONCLAVE_LOG_LEVEL: 'info',
          CONCLAVE_API_TOKEN: token
        },
        stdio: ['ignore', 'ignore', 'pipe']
      })
      children.push(child)
      const started = await new Promise<{ api: string; addrs: string[] }>((resolve, reject) => {
        let buf = ''
        const onData = (d: Buffer): void => {
          buf += d.toString()
          const line = buf.split('\n').find(l => l.includes('"agent started"'))
          if (line !== undefined) {
            child.stderr?.off('data', onData)
            resolve(JSON.parse(line))
          }
        }
        child.stderr?.on('data', onData)
        child.once('exit', code => {
          reject(new Error(`agent exited ${code}: ${buf}`))
        })
      })
      apis.push(started.api)
      if (i === 0) seed = started.addrs[0] ?? ''
    }
    const allStartedAt = Date.now()
    let fullViewMs: number | null = null
    while (Date.now() - t0 < 180_000) {
      const views = await Promise.all(
        apis.map(
          async api =>
            (
              (await (
                await fetch(`${api}/v1/peers`, { headers: { authorization: `Bearer ${token}` } })
              ).json()) as Array<{ state: string }>
            ).filter(p => p.state === 'alive').length
        )
      )
      if (views.every(v => v === n - 1)) {
        fullViewMs = Date.now() - t0
        break
      }
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    await new Promise(resolve => setTimeout(resolve, 3_000))
    const rssMb = await Promise.all(children.map(async c => (await rssKb(c.pid as number)) / 1024))
    const afterLast = fullViewMs === null ? 'not reached' : `${((t0 + fullViewMs - allStartedAt) / 1000).toFixed(1)} s`
    return {
      row: {
        scenario: 'bootstrap + DHT, one process per agent (started one after another)',
        n,
        fullViewMs,
        note: `full view ${afterLast} after the last agent had started (${((allStartedAt - t0) / 1000).toFixed(1)} s to start them); RSS per agent process: median ${median(rssMb).toFixed(0)} MB, max ${Math.max(...rssMb).toFixed(0)} MB`
      },
      rssMb
    }
  } finally {
    for (const c of children) c.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
}

/** Agents spread over worker processes (the fan-out benchmark's layout), bootstrapped to one. */
async function inWorkers(n: number, workers: number, timeoutMs: number): Promise<Row> {
  const dir = await mkdtemp(join(tmpdir(), 'conclave-bench-'))
  try {
    const fullViewMs = await meshFormation({ agents: n, workers, dir, timeoutMs })
    return {
      scenario: `bootstrap + DHT, ${workers} worker processes`,
      n,
      fullViewMs,
      note: `${Math.ceil(n / workers)} agents per process; timed from the first agent's start (the processes had loaded their modules before); the process holding the bootstrap peer starts first, the others together`
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Where an agent's memory goes: Node itself, then loading the code (libp2p and friends). */
function baselineRss(): string {
  const measure = (code: string): number =>
    Number(
      spawnSync(process.execPath, ['--input-type=module', '-e', code], {
        encoding: 'utf8',
        cwd: fileURLToPath(new URL('../../..', import.meta.url))
      }).stdout.trim()
    )
  const bare = measure('setTimeout(() => console.log(Math.round(process.memoryUsage().rss / 2 ** 20)), 300)')
  const loaded = measure(
    "await import('./dist/src/index.js'); setTimeout(() => console.log(Math.round(process.memoryUsage().rss / 2 ** 20)), 300)"
  )
  return `RSS of Node ${process.version} alone: ${bare} MB; after loading Conclave's modules (no agent started): ${loaded} MB`
}

const rows: Row[] = []
const full = process.argv.includes('--full')
out(`discovery benchmark: ${environment()}`)
for (const [name, run] of [
  ['in-process N=34', async () => await inProcess(34, 120_000)],
  ['mDNS N=34', async () => await mdnsInNetns(34)],
  ['processes N=34', async () => (await processes(34)).row],
  ['4 workers N=34', async () => await inWorkers(34, 4, 120_000)],
  ...(full
    ? [
        ['in-process N=100', async () => await inProcess(100, 240_000)] as const,
        ['4 workers N=100', async () => await inWorkers(100, 4, 240_000)] as const
      ]
    : [])
] as const) {
  out(`running ${name}…`)
  const row = await run()
  out(`  ${row.scenario} N=${row.n}: full view ${row.fullViewMs ?? 'not reached'} ms (${row.note})`)
  rows.push(row)
}

await writeSection(
  'discovery',
  `## Discovery

Command: \`npm run bench:discovery${full ? ' -- --full' : ''}\`. ${environment()}.

Time from starting the agents until every agent's membership view holds every other agent \`alive\`.

| scenario | N | full view | notes |
|---|---|---|---|
${rows.map(r => `| ${r.scenario} | ${r.n} | ${r.fullViewMs === null ? 'not reached' : `${(r.fullViewMs / 1000).toFixed(1)} s`} | ${r.note} |`).join('\n')}

${baselineRss()}.

Targets: full view at N=34 in ≤ 2 s with mDNS and ≤ 5 s without; ≤ 60 MB RSS per agent process.
In-process runs put every agent on the same 2 cores: each connection costs about 27 ms of CPU to set up
on this machine (noise, identify, DHT, gossip streams), so start-up is CPU-bound there (see README, "Performance").`
)
out(`written to docs/benchmarks.md`)
process.exit(0)
