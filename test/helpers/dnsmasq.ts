import { spawn, type ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DnsPeerResolver } from '../../src/discovery/index.js'
import { waitFor } from './wait.js'

export interface Dnsmasq {
  server: string
  stop(): Promise<void>
}

async function freeUdpPort (): Promise<number> {
  const socket = createSocket('udp4')
  await new Promise<void>(resolve => socket.bind(0, '127.0.0.1', resolve))
  const { port } = socket.address()
  await new Promise<void>(resolve => socket.close(() => { resolve() }))
  return port
}

/**
 * A real dnsmasq (Debian's dnsmasq-base) on 127.0.0.1 answering only from `records`, one A
 * record per line like Swarm's `tasks.<service>`. It forwards nothing anywhere (--no-resolv).
 */
export async function startDnsmasq (dir: string, records: Array<{ name: string, ip: string }>): Promise<Dnsmasq> {
  const hosts = join(dir, 'hosts')
  await writeFile(hosts, records.map(r => `${r.ip} ${r.name}`).join('\n') + '\n', { mode: 0o644 })
  const port = await freeUdpPort()
  const child: ChildProcess = spawn('dnsmasq', [
    '--keep-in-foreground', '--no-daemon', '--user=root', `--port=${port}`, '--listen-address=127.0.0.1',
    '--bind-interfaces', '--no-resolv', '--no-hosts', `--addn-hosts=${hosts}`, '--no-dhcp-interface=lo',
    `--pid-file=${join(dir, 'dnsmasq.pid')}`, '--log-facility=-'
  ], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const server = `127.0.0.1:${port}`
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) return
    child.kill('SIGTERM')
    await new Promise(resolve => child.once('exit', resolve))
  }
  try {
    const first = records[0]
    if (first !== undefined) {
      const resolver = new DnsPeerResolver([server])
      await waitFor(async () => (await resolver.resolve(first.name)).length > 0, {
        timeoutMs: 10_000,
        message: () => `dnsmasq did not answer: ${stderr}`
      })
    }
  } catch (err) {
    await stop()
    throw err
  }
  return { server, stop }
}
