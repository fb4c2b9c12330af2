/**
 * A cluster of hosts made of network namespaces (issue #6): each host has its own address on a
 * virtual LAN, like containers on a Docker bridge. The LAN lives in a namespace of its own with
 * two bridges joined by a veth "trunk"; a partition moves one group of hosts to the second bridge
 * and takes the trunk down, healing brings it back. dnsmasq on the LAN answers the service names
 * the manifests use, as Docker's embedded DNS does, through each host's own resolv.conf
 * (`ip netns exec` mounts /etc/netns/<host>/resolv.conf over /etc/resolv.conf).
 *
 * Nothing leaves: the namespaces have no route but their LAN, and the test's own namespace is not
 * on it. Everything is removed by `destroy()`, which tests call in afterAll even on failure.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { removeNetns } from './netns.js'
import { waitFor } from './wait.js'

/** RFC 2544's range for network test beds: it cannot be anyone's real network. */
const SUBNET = '198.18'
const GATEWAY = `${SUBNET}.0.1`

export interface Host {
  /** Namespace name. */
  ns: string
  /** The host's address on the LAN. */
  ip: string
  /** Its port on the LAN bridge (inside the LAN namespace). */
  port: string
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

export class Cluster {
  readonly id = randomBytes(3).toString('hex')
  readonly lan = `cnc${this.id}-lan`
  readonly gateway = GATEWAY
  readonly hosts: Host[] = []
  private readonly namespaces: string[] = []
  private dnsmasq?: ChildProcess

  /** The LAN and `count` hosts on it. */
  static create(count: number): Cluster {
    const cluster = new Cluster()
    try {
      cluster.build(count)
    } catch (err) {
      cluster.destroy()
      throw err
    }
    return cluster
  }

  private addNamespace(name: string): void {
    ip('netns', 'add', name)
    this.namespaces.push(name)
    ip('-n', name, 'link', 'set', 'lo', 'up')
  }

  private build(count: number): void {
    this.addNamespace(this.lan)
    for (const br of ['br0', 'br1']) {
      ip('-n', this.lan, 'link', 'add', br, 'type', 'bridge')
      ip('-n', this.lan, 'link', 'set', br, 'up')
    }
    ip('-n', this.lan, 'addr', 'add', `${GATEWAY}/16`, 'dev', 'br0')
    ip('-n', this.lan, 'link', 'add', 'trunk0', 'type', 'veth', 'peer', 'name', 'trunk1')
    ip('-n', this.lan, 'link', 'set', 'trunk0', 'master', 'br0', 'up')
    ip('-n', this.lan, 'link', 'set', 'trunk1', 'master', 'br1', 'up')
    for (let i = 0; i < count; i++) {
      const ns = `cnc${this.id}-h${i}`
      const host: Host = { ns, ip: `${SUBNET}.0.${10 + i}`, port: `h${i}` }
      this.addNamespace(ns)
      // Both ends are created inside their namespaces: nothing appears in the test's own.
      ip('link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', host.port, 'netns', this.lan)
      ip('-n', this.lan, 'link', 'set', host.port, 'master', 'br0', 'up')
      ip('-n', ns, 'addr', 'add', `${host.ip}/16`, 'dev', 'eth0')
      ip('-n', ns, 'link', 'set', 'eth0', 'up')
      // mDNS: multicast goes out on the LAN (there is no default route).
      ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0')
      mkdirSync(`/etc/netns/${ns}`, { recursive: true })
      writeFileSync(`/etc/netns/${ns}/resolv.conf`, `nameserver ${GATEWAY}\noptions timeout:1 attempts:2\n`)
      this.hosts.push(host)
    }
  }

  /** dnsmasq on the LAN answering `records` (name → addresses) and nothing else. */
  async startDns(dir: string, records: Record<string, string[]>): Promise<void> {
    await this.stopDns()
    const hosts = join(dir, `dns-hosts-${this.id}`)
    writeFileSync(
      hosts,
      Object.entries(records)
        .flatMap(([name, ips]) => ips.map(a => `${a} ${name}`))
        .join('\n') + '\n'
    )
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.lan,
        'dnsmasq',
        '--keep-in-foreground',
        '--no-daemon',
        '--user=root',
        '--port=53',
        `--listen-address=${GATEWAY}`,
        '--bind-interfaces',
        '--no-resolv',
        '--no-hosts',
        `--addn-hosts=${hosts}`,
        '--no-dhcp-interface=br0',
        '--log-facility=-'
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] }
    )
    this.dnsmasq = child
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`dnsmasq exited: ${stderr}`)
        return stderr.includes('read ') && stderr.includes(hosts)
      },
      { timeoutMs: 10_000, message: () => `dnsmasq did not start: ${stderr}` }
    )
  }

  async stopDns(): Promise<void> {
    const child = this.dnsmasq
    this.dnsmasq = undefined
    if (child === undefined || child.exitCode !== null) return
    child.kill('SIGTERM')
    await new Promise(resolve => child.once('exit', resolve))
  }

  /** Cut the LAN in two: `side` moves to the second bridge and the trunk between them goes down. */
  partition(side: Host[]): void {
    for (const host of side) ip('-n', this.lan, 'link', 'set', host.port, 'master', 'br1')
    ip('-n', this.lan, 'link', 'set', 'trunk0', 'down')
  }

  heal(): void {
    ip('-n', this.lan, 'link', 'set', 'trunk0', 'up')
  }

  /** GET (or POST JSON to) `http://<host>:<port><path>` from inside the host, with curl. */
  request(host: Host, port: number, path: string, body?: unknown, token?: string): { status: number; body: any } {
    const args = ['netns', 'exec', host.ns, 'curl', '-s', '-m', '5', '-w', '\n%{http_code}']
    if (token !== undefined) args.push('-H', `authorization: Bearer ${token}`)
    if (body !== undefined) {
      args.push('-X', 'POST', '-H', 'content-type: application/json', '--data-binary', JSON.stringify(body))
    }
    args.push(`http://${host.ip}:${port}${path}`)
    const out = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 })
    const text = out.stdout ?? ''
    const at = text.lastIndexOf('\n')
    const status = Number(text.slice(at + 1))
    if (out.status !== 0 || !(status > 0)) throw new Error(`curl ${path} on ${host.ip} failed: ${out.stderr}`)
    return { status, body: JSON.parse(text.slice(0, at)) }
  }

  /** Kill everything still running in the cluster and remove its namespaces and files. */
  destroy(): void {
    if (this.dnsmasq !== undefined && this.dnsmasq.exitCode === null) this.dnsmasq.kill('SIGKILL')
    for (const ns of [...this.namespaces].reverse()) {
      removeNetns(ns)
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true })
    }
    this.namespaces.length = 0
  }
}
