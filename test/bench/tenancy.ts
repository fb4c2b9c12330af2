/**
 * `npm run bench:tenancy`: the cost of tenant isolation.
 *  1. CPU per message on the send path (envelope + AES-256-GCM seal) and on the receive path
 *     (the real topic validator: decode, credential by reference, decrypt, replay guard), for a
 *     1 KiB payload, next to the Ed25519 sign/verify gossipsub does for every message anyway.
 *  2. Delivery latency at N=34 in one process, with tenancy (sealed envelopes) and without
 *     (the open default tenant), same workload.
 * Prints the figures and writes them to docs/benchmarks.md.
 */
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Message, PubSub, TopicValidatorFn } from '@libp2p/interface'
import { Sim } from '../../src/sim/index.js'
import { createTenant, issueKeyring, Tenancy, TenantKeyring, topicFor } from '../../src/tenancy/index.js'
import { environment, median, writeSection } from './report.js'
import { percentile } from '../../src/util/stats.js'

const out = (line: string): void => {
  process.stdout.write(line + '\n')
}
const PAYLOAD = randomBytes(1024)

/** Just enough of PubSub to drive Tenancy's publish and validator paths without a network. */
function capturePubsub(sent: Uint8Array[]): PubSub {
  const stub = {
    topicValidators: new Map<string, TopicValidatorFn>(),
    subscribe() {},
    unsubscribe() {},
    addEventListener() {},
    removeEventListener() {},
    publish: async (_topic: string, data: Uint8Array) => {
      sent.push(data)
      return { recipients: [] }
    }
  }
  return stub as unknown as PubSub
}

interface CpuRow {
  path: string
  usPerMessage: number
}

async function cpuPerMessage(authenticated: boolean, count: number): Promise<CpuRow[]> {
  const senderKey = await generateKeyPair('Ed25519')
  const receiverKey = await generateKeyPair('Ed25519')
  const sender = peerIdFromPrivateKey(senderKey)
  const receiver = peerIdFromPrivateKey(receiverKey)
  let rings: [TenantKeyring, TenantKeyring]
  const tenant = authenticated ? 'bench' : 'default'
  if (authenticated) {
    const t = await createTenant('bench')
    const a = await issueKeyring(t, sender.toString())
    const b = await issueKeyring(a.file, receiver.toString())
    rings = [a.keyring, b.keyring]
  } else {
    rings = [TenantKeyring.open('default', sender.toString()), TenantKeyring.open('default', receiver.toString())]
  }
  const sent: Uint8Array[] = []
  const tx = new Tenancy({ peerId: sender, pubsub: capturePubsub(sent) }, { keyrings: [rings[0]] })
  const rxPubsub = capturePubsub([])
  const rx = new Tenancy({ peerId: receiver, pubsub: rxPubsub }, { keyrings: [rings[1]] })
  const channel = tx.join(tenant, 'bench', () => 'accept')
  rx.join(tenant, 'bench', () => 'accept')
  const validate = rxPubsub.topicValidators.get(topicFor(tenant)) as TopicValidatorFn

  // Warm up (JIT, credential cache), then measure.
  for (let i = 0; i < 500; i++) await channel.publish(PAYLOAD)
  for (const data of sent.splice(0)) {
    await validate(sender, {
      type: 'signed',
      from: sender,
      topic: channel.topic,
      data,
      sequenceNumber: 0n,
      signature: new Uint8Array(),
      key: sender.publicKey
    } as unknown as Message)
  }
  let t0 = process.cpuUsage()
  for (let i = 0; i < count; i++) await channel.publish(PAYLOAD)
  let cpu = process.cpuUsage(t0)
  const sendUs = (cpu.user + cpu.system) / count
  const messages = sent.splice(0)
  t0 = process.cpuUsage()
  let accepted = 0
  for (const data of messages) {
    const r = await validate(sender, {
      type: 'signed',
      from: sender,
      topic: channel.topic,
      data,
      sequenceNumber: 0n,
      signature: new Uint8Array(),
      key: sender.publicKey
    } as unknown as Message)
    if (r === 'accept') accepted++
  }
  cpu = process.cpuUsage(t0)
  if (accepted !== count) throw new Error(`only ${accepted}/${count} accepted`)
  const receiveUs = (cpu.user + cpu.system) / count
  const label = authenticated ? 'tenant (sealed)' : 'open tenant (plaintext envelope)'
  return [
    { path: `send, ${label}`, usPerMessage: sendUs },
    { path: `receive, ${label}`, usPerMessage: receiveUs }
  ]
}

async function signatureCost(count: number): Promise<CpuRow[]> {
  const key = await generateKeyPair('Ed25519')
  const data = randomBytes(1200)
  let t0 = process.cpuUsage()
  let sig: Uint8Array = new Uint8Array()
  for (let i = 0; i < count; i++) sig = await key.sign(data)
  let cpu = process.cpuUsage(t0)
  const signUs = (cpu.user + cpu.system) / count
  t0 = process.cpuUsage()
  for (let i = 0; i < count; i++) await key.publicKey.verify(data, sig)
  cpu = process.cpuUsage(t0)
  return [
    { path: 'gossipsub StrictSign: Ed25519 sign (every message, with or without tenancy)', usPerMessage: signUs },
    { path: 'gossipsub StrictSign: Ed25519 verify', usPerMessage: (cpu.user + cpu.system) / count }
  ]
}

interface LatencyRow {
  mode: string
  n: number
  sent: number
  deliveries: number
  expected: number
  p50: number
  p95: number
  p99: number
}

async function latency(n: number, open: boolean, rounds: number): Promise<LatencyRow> {
  const sim = await Sim.start({ agents: n, tenants: open ? 'open' : ['bench'] })
  try {
    const deadline = Date.now() + 120_000
    while (sim.convergedCount() < n && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
    const tenant = open ? 'default' : 'bench'
    const latencies: number[] = []
    const channels = sim.agents.map(a =>
      a.tenancy.join(tenant, 'bench', msg => {
        const sentAt = Number(Buffer.from(msg.payload.subarray(0, 8)).readDoubleBE(0))
        latencies.push(performance.now() - sentAt)
        return 'accept'
      })
    )
    // Let the bench topic mesh form (two gossipsub heartbeats).
    await new Promise(resolve => setTimeout(resolve, 3_000))
    let sent = 0
    for (let r = 0; r < rounds; r++) {
      // Every agent publishes once per round, spread over one second (1 msg/s per agent).
      for (const channel of channels) {
        const payload = Buffer.alloc(1024)
        payload.writeDoubleBE(performance.now(), 0)
        await channel.publish(payload)
        sent++
        await new Promise(resolve => setTimeout(resolve, Math.floor(1000 / n)))
      }
    }
    const expected = sent * (n - 1)
    const settle = Date.now() + 10_000
    while (latencies.length < expected && Date.now() < settle) await new Promise(resolve => setTimeout(resolve, 100))
    return {
      mode: open ? 'open tenant (plaintext)' : 'tenant (sealed envelopes)',
      n,
      sent,
      deliveries: latencies.length,
      expected,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99)
    }
  } finally {
    await sim.stop()
  }
}

async function main(): Promise<void> {
  const env = environment()
  out(`tenancy benchmark — ${env}`)
  const count = 20_000
  const cpuRuns: CpuRow[][] = []
  for (let run = 0; run < 3; run++) {
    cpuRuns.push([
      ...(await cpuPerMessage(true, count)),
      ...(await cpuPerMessage(false, count)),
      ...(await signatureCost(5_000))
    ])
  }
  const cpuRows = (cpuRuns[0] ?? []).map((row, i) => ({
    path: row.path,
    usPerMessage: median(cpuRuns.map(r => r[i]?.usPerMessage ?? NaN))
  }))
  for (const r of cpuRows) out(`  ${r.path}: ${r.usPerMessage.toFixed(1)} µs CPU per message`)

  const n = Number(process.env.BENCH_N ?? 34)
  const rounds = Number(process.env.BENCH_ROUNDS ?? 10)
  const latencyRows: LatencyRow[] = []
  for (const open of [false, true]) {
    const row = await latency(n, open, rounds)
    latencyRows.push(row)
    out(
      `  N=${n} ${row.mode}: delivered ${row.deliveries}/${row.expected}, p50 ${row.p50.toFixed(1)} ms, p95 ${row.p95.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms`
    )
  }
  const [sealed, plain] = latencyRows
  const body = [
    '## Cost of tenant isolation',
    '',
    `Command: \`npm run bench:tenancy\` (${env}). 1 KiB payloads.`,
    '',
    `CPU per message, median of 3 runs of ${count} messages each, through the real \`Tenancy\` publish path and topic validator (network left out):`,
    '',
    '| path | µs CPU / message |',
    '|---|---|',
    ...cpuRows.map(r => `| ${r.path} | ${r.usPerMessage.toFixed(1)} |`),
    '',
    `Delivery latency (publish → accepted by the validator at each receiver), N=${n} agents in one process (2 cores shared by all of them), every agent publishing 1 msg/s for ${rounds} s:`,
    '',
    '| mode | delivered | p50 ms | p95 ms | p99 ms |',
    '|---|---|---|---|---|',
    ...latencyRows.map(
      r =>
        `| ${r.mode} | ${r.deliveries}/${r.expected} (${((100 * r.deliveries) / r.expected).toFixed(2)}%) | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.p99.toFixed(1)} |`
    ),
    '',
    sealed !== undefined && plain !== undefined
      ? `Ratio sealed/plaintext: p50 ${(sealed.p50 / plain.p50).toFixed(2)}×, p99 ${(sealed.p99 / plain.p99).toFixed(2)}×.`
      : ''
  ].join('\n')
  await writeSection('tenancy', body)
  out('written to docs/benchmarks.md')
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`)
    process.exit(1)
  }
)
