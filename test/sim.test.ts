/**
 * The sim's network faults, which the partition, council and mesh tests rely on, checked against
 * real libp2p nodes: a partition lets no connection across, even one already being dialled when
 * it is made; a hung agent makes dials time out instead of being refused.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { ConnectionGater } from '@libp2p/interface'
import type { Agent } from '../src/agent/index.js'
import { Sim } from '../src/sim/index.js'
import { isTimeout } from '../src/util/errors.js'
import { waitFor } from './helpers/wait.js'

let sim: Sim | undefined
afterEach(async () => {
  await sim?.stop()
  sim = undefined
})

/** The gater libp2p consults (a copy of the one the sim gave it), to observe its checks. */
function gaterOf(agent: Agent): ConnectionGater {
  return (agent.node as unknown as { components: { connectionGater: ConnectionGater } }).components.connectionGater
}

/** A promise and the function that resolves it. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {}
  const promise = new Promise<void>(_resolve => {
    resolve = _resolve
  })
  return { promise, resolve }
}

const linked = (a: Agent, b: Agent): boolean =>
  a.node.getConnections(b.node.peerId).length > 0 || b.node.getConnections(a.node.peerId).length > 0

describe('sim faults', () => {
  it('a partition made as a dial across it is opening leaves no connection across it', async () => {
    sim = await Sim.start({ agents: 2 })
    const s = sim
    const [a, b] = s.agents as [Agent, Agent]
    // The race, made certain: both ends let the encrypted connection through, then the cut is
    // made, and only then does the dialling end open its connection (as a busy event loop does).
    let cut = false
    let cutMade = signal()
    const bGater = gaterOf(b)
    const bDeny = bGater.denyInboundEncryptedConnection?.bind(bGater)
    bGater.denyInboundEncryptedConnection = async (peer, conn) => {
      const denied = (await bDeny?.(peer, conn)) ?? false
      if (!denied && !cut) {
        cut = true
        void s.partition([a])
        cutMade.resolve()
      }
      return denied
    }
    const aGater = gaterOf(a)
    const aDeny = aGater.denyOutboundEncryptedConnection?.bind(aGater)
    aGater.denyOutboundEncryptedConnection = async (peer, conn) => {
      const denied = (await aDeny?.(peer, conn)) ?? false
      if (!denied && !cut) await Promise.race([cutMade.promise, new Promise(resolve => setTimeout(resolve, 2_000))])
      return denied
    }
    // Each try starts from no connection: the agents' own dialers may reconnect in between, and a
    // dial then joins that connection.
    // eslint-disable-next-line no-unmodified-loop-condition -- set by a callback while the loop awaits
    for (let attempt = 0; attempt < 20 && !cut; attempt++) {
      await a.node.hangUp(b.node.peerId)
      cutMade = signal()
      await a.node.dial(b.node.getMultiaddrs()).catch(() => {})
    }
    expect(cut).toBe(true)
    await waitFor(() => !linked(a, b), { timeoutMs: 5_000, message: 'a connection stands across the partition' })
    await expect(a.node.dial(b.node.getMultiaddrs())).rejects.toThrow()
    await expect(b.node.dial(a.node.getMultiaddrs())).rejects.toThrow()
    expect(linked(a, b)).toBe(false)
    await s.heal()
    await waitFor(() => linked(a, b), { timeoutMs: 5_000, message: 'no connection after healing' })
  })

  it('a dial to a hung agent times out instead of being refused', async () => {
    sim = await Sim.start({ agents: 3 })
    const s = sim
    const [a, , victim] = s.agents as [Agent, Agent, Agent]
    const addrs = victim.node.getMultiaddrs()
    await s.hangAgent(victim)
    await waitFor(() => !linked(a, victim), { timeoutMs: 5_000, message: 'connection to the hung agent still open' })
    const err = await a.node.dial(addrs, { signal: AbortSignal.timeout(300) }).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(err).toBeDefined()
    expect(isTimeout(err)).toBe(true)
  })
})
