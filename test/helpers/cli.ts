import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CLI } from './paths.js'
import { waitFor } from './wait.js'

export { CLI }

export interface CliProcess {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>
}

const running = new Set<ChildProcess>()

export interface RunCliOptions {
  /**
   * The CLI entry point to run.
   *
   * @default the repository's built CLI
   */
  cli?: string
  /**
   * Run inside this network namespace (`ip netns exec`, which execs: the child is the agent itself).
   *
   * @default the test's own namespace
   */
  netns?: string
  /**
   * A command that runs instead of `node <cli>` (a script that execs the CLI itself).
   *
   * @default none
   */
  launcher?: string[]
}

/** Run the real CLI with Node 22 (this process's node) and the given environment. */
export function runCli(args: string[], env: Record<string, string> = {}, opts: RunCliOptions = {}): CliProcess {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONCLAVE_')))
  const argv = [...(opts.launcher ?? [process.execPath, opts.cli ?? CLI]), ...args]
  const [command, ...rest] = opts.netns !== undefined ? ['ip', 'netns', 'exec', opts.netns, ...argv] : argv
  const child = spawn(command as string, rest, { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const exited = new Promise<number | string>(resolve => {
    child.on('exit', (code, signal) => {
      running.delete(child)
      resolve(code ?? signal ?? -1)
    })
  })
  return { child, stdout: () => out, stderr: () => err, exited }
}

/** Kill every CLI process still running (afterEach: also when a test failed). */
export async function killAll(): Promise<void> {
  const children = [...running]
  for (const c of children) c.kill('SIGKILL')
  await Promise.all(
    children.map(
      async c =>
        await new Promise(resolve => {
          if (c.exitCode !== null || c.signalCode !== null) resolve(undefined)
          else c.once('exit', resolve)
        })
    )
  )
}

export interface StartedAgent extends CliProcess {
  peerId: string
  api: string
  addrs: string[]
  /** Its operator token: CONCLAVE_API_TOKEN, else the one it made in its data dir. */
  token: string
}

/** Operator token of each started agent's API base URL, which `getJson` sends. */
const tokens = new Map<string, string>()

/** `conclave start` with `env`; resolves once the agent logged that it started. */
export async function startAgent(
  env: Record<string, string>,
  timeoutMs = 20_000,
  opts: RunCliOptions & { args?: string[] } = {}
): Promise<StartedAgent> {
  const proc = runCli(opts.args ?? ['start'], { CONCLAVE_LOG_LEVEL: 'info', ...env }, opts)
  const started = await waitFor(
    () => {
      if (proc.child.exitCode !== null) throw new Error(`agent exited with ${proc.child.exitCode}: ${proc.stderr()}`)
      for (const line of proc.stderr().split('\n')) {
        if (!line.includes('"agent started"')) continue
        return JSON.parse(line) as { peerId: string; api: string; addrs: string[] }
      }
      return undefined
    },
    { timeoutMs, message: () => `agent did not start: ${proc.stderr()}` }
  )
  const token =
    env.CONCLAVE_API_TOKEN ?? (await readFile(join(env.CONCLAVE_DATA_DIR ?? '.conclave', 'api.token'), 'utf8')).trim()
  tokens.set(new URL(started.api).origin, token)
  return { ...proc, peerId: started.peerId, api: started.api, addrs: started.addrs, token }
}

/** GET `url` as JSON, with the operator token of the agent it belongs to (unless `token` is given). */
export async function getJson<T = any>(
  url: string,
  token = tokens.get(new URL(url).origin)
): Promise<{ status: number; body: T }> {
  const res = await fetch(url, {
    signal: AbortSignal.timeout(5_000),
    ...(token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {})
  })
  return { status: res.status, body: (await res.json()) as T }
}

/** Environment of a test agent on loopback: its own data dir under `dir`, free ports, no mDNS, fast heartbeats. */
export function agentEnv(dir: string, name: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CONCLAVE_NAME: name,
    CONCLAVE_DATA_DIR: `${dir}/${name}`,
    CONCLAVE_LISTEN: '/ip4/127.0.0.1/tcp/0',
    CONCLAVE_HTTP: '127.0.0.1:0',
    CONCLAVE_MDNS: 'false',
    CONCLAVE_HEARTBEAT_MS: '300',
    ...extra
  }
}
