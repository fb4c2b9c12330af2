import { execSync } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { dirname } from 'node:path'

export const BENCH_FILE = 'docs/benchmarks.md'

/** The machine and runtime, printed above every table so that figures can be compared honestly. */
export function environment(): string {
  return `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB`
}

/**
 * Which code made the figures, for the machine-readable results (docs/benchmarks.json) only: the
 * benchmark document itself tells no history.
 */
export function provenance(): { date: string; commit: string } {
  let commit = 'unknown'
  try {
    commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim()
    if (execSync('git status --porcelain --untracked-files=no', { encoding: 'utf8' }).trim() !== '') {
      commit += ' with uncommitted changes'
    }
  } catch {}
  return { date: new Date().toISOString().slice(0, 10), commit }
}

/** Replace (or append) the section between `<!-- name:start -->` and `<!-- name:end -->`. */
export async function writeSection(name: string, body: string): Promise<void> {
  const start = `<!-- ${name}:start -->`
  const end = `<!-- ${name}:end -->`
  let text = ''
  try {
    text = await readFile(BENCH_FILE, 'utf8')
  } catch {}
  if (text === '') {
    text =
      '# Benchmarks\n\nFigures from one run each, on a shared and noisy machine: compare medians and ratios, not single values. Every section names the command that made it.\n'
  }
  const block = `${start}\n${body.trim()}\n${end}`
  const i = text.indexOf(start)
  const j = text.indexOf(end)
  text =
    i !== -1 && j !== -1 ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`
  await mkdir(dirname(BENCH_FILE), { recursive: true })
  await writeFile(BENCH_FILE, text)
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const mid = s.length >> 1
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/** CPU time this process used so far, user and system (ms). */
export function processCpuMs(): number {
  const used = process.cpuUsage()
  return (used.user + used.system) / 1000
}

/** Wire traffic of a worker's running agents so far, summed over them (gossipsub's counters). */
export interface Traffic {
  agents: number
  /** Gossipsub RPCs sent and received (one RPC may carry messages and control). */
  rpcsSent: number
  rpcsReceived: number
  bytesSent: number
  bytesReceived: number
  /** Membership's pings sent (probes) and push-pull syncs started (three messages each). */
  pings: number
  syncs: number
  /** Open connections, summed over the agents. */
  connections: number
  /** Topics subscribed, summed over the agents. */
  topics: number
}

export function noTraffic(): Traffic {
  return {
    agents: 0,
    rpcsSent: 0,
    rpcsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    pings: 0,
    syncs: 0,
    connections: 0,
    topics: 0
  }
}
