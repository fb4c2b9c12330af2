import { generateKeyPair } from '@libp2p/crypto/keys'
import { createConclaveNode } from '../../src/node/index.js'
const nodes = await Promise.all([0, 1].map(async () => createConclaveNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })))
const [a, b] = nodes as [any, any]
const addr = b.getMultiaddrs()[0]
await a.dial(addr); await a.hangUp(b.peerId)
const rounds = Number(process.env.ROUNDS ?? 40)
const cpu0 = process.cpuUsage(); const t0 = performance.now()
for (let i = 0; i < rounds; i++) {
  await a.dial(addr)
  await new Promise(r => setTimeout(r, 30))
  await a.hangUp(b.peerId)
}
const c = process.cpuUsage(cpu0)
console.log('per connection: cpu ms', ((c.user + c.system) / 1000 / rounds).toFixed(1), 'wall ms', ((performance.now() - t0) / rounds).toFixed(1))
await Promise.all(nodes.map(n => n.stop()))
