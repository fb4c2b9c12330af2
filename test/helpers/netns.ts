import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'

/**
 * Network namespaces made by the tests themselves (root and iproute2 needed; CI runs as root).
 * Nothing a test sends from inside one can leave the machine: the namespace has only what the
 * test gives it.
 */
export function netnsUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root: run them with `sudo npm run test:hosts`'
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
  if (probe.error !== undefined || probe.status !== 0) {
    return `ip netns is not usable: ${probe.error?.message ?? probe.stderr}`
  }
  return undefined
}

const created = new Set<string>()

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** A namespace with only loopback, multicast routed on it (so mDNS works and stays inside). */
export function createLoopbackNetns(prefix = 'cnv'): string {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`
  ip('netns', 'add', name)
  created.add(name)
  ip('-n', name, 'link', 'set', 'lo', 'up')
  ip('-n', name, 'link', 'set', 'lo', 'multicast', 'on')
  ip('-n', name, 'route', 'add', '224.0.0.0/4', 'dev', 'lo')
  return name
}

/** Kill whatever still runs in the namespace and delete it. */
export function removeNetns(name: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(p => p.trim() !== '')
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL')
    } catch {}
  }
  spawnSync('ip', ['netns', 'del', name])
  created.delete(name)
}

export function removeAllNetns(): void {
  for (const name of [...created]) removeNetns(name)
}

/**
 * Say once, on stderr, why a test file that needs the project's own network namespaces is
 * skipped, and how to run it.
 */
export function reportSkip(what: string, reason: string | undefined): void {
  if (reason !== undefined) process.stderr.write(`skipped: ${what}: ${reason}\n`)
}
