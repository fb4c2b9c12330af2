/**
 * mDNS discovery with 10 agents in one process, no bootstrap. Multicast from the host's own
 * namespace would leave through its network interface, so the agents run (through the real
 * `conclave sim`) inside a namespace this test creates with loopback only.
 */
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { CLI } from './helpers/cli.js'
import { run } from './helpers/run.js'
import { createLoopbackNetns, netnsUnavailableReason, removeAllNetns, reportSkip } from './helpers/netns.js'

const unavailable = netnsUnavailableReason()
reportSkip('mDNS tests', unavailable)
// In CI the namespace tests must run: a skip there would hide a broken environment.
if (unavailable !== undefined && process.env.CI === 'true') {
  throw new Error(`mDNS test cannot run in CI: ${unavailable}`)
}

afterEach(removeAllNetns)

describe.skipIf(unavailable !== undefined)(
  `mDNS${unavailable !== undefined ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    it('10 agents with mDNS only all see all 9 others alive', async () => {
      const ns = createLoopbackNetns()
      const tag = `_cnv-${randomBytes(4).toString('hex')}._udp.local`
      const result = await run(
        'ip',
        [
          'netns',
          'exec',
          ns,
          process.execPath,
          CLI,
          'sim',
          '--agents',
          '10',
          '--mdns',
          '--mdns-service-tag',
          tag,
          '--http-base-port',
          '0',
          '--exit-when-converged',
          '--timeout-ms',
          '60000',
          '--json'
        ],
        { timeoutMs: 90_000 }
      )
      expect(result.code, result.stderr).toBe(0)
      const summary = JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as {
        converged: number
        views: Array<{ alive: number }>
      }
      expect(summary.converged).toBe(10)
      expect(summary.views.map(v => v.alive)).toEqual(Array(10).fill(9))
    })
  }
)
