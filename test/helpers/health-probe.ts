/**
 * /health polled from a process of its own: a load generator's busy event loop would otherwise
 * count its own delays against the agents it measures.
 */
import { spawn } from 'node:child_process'
import { setPriority } from 'node:os'

const PROBE = `
const urls = process.argv.slice(1)
const worst = Object.fromEntries(urls.map(u => [u, 0]))
let running = true
process.on('message', () => { running = false })
while (running) {
  await Promise.all(urls.map(async u => {
    const t0 = performance.now()
    const ok = await fetch(u + '/health', { signal: AbortSignal.timeout(5000) }).then(r => r.ok, () => false)
    worst[u] = Math.max(worst[u], ok ? performance.now() - t0 : Infinity)
  }))
  await new Promise(resolve => setTimeout(resolve, 200))
}
process.send(worst, () => process.exit(0))
`

export interface HealthProbe {
  /** Stop polling; the slowest answer of each URL in ms (Infinity for a failed one). */
  stop(): Promise<Record<string, number>>
}

export function probeHealth(urls: string[]): HealthProbe {
  const child = spawn(process.execPath, ['--input-type=module', '-e', PROBE, ...urls], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc']
  })
  // Scheduled ahead of the load, as an orchestrator's prober on another core would be (needs
  // root; elsewhere the probe runs at normal priority).
  try {
    setPriority(child.pid ?? 0, -10)
  } catch {}
  const result = new Promise<Record<string, number>>((resolve, reject) => {
    child.once('message', worst => {
      resolve(worst as Record<string, number>)
    })
    child.once('exit', code => {
      reject(new Error(`health probe exited with ${code ?? 'a signal'}`))
    })
  })
  return {
    async stop() {
      child.send('stop')
      return await result
    }
  }
}
