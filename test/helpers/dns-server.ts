/**
 * A DNS server on 127.0.0.1 that the tests start themselves (the `dns2` registry package, no
 * system binary): it answers A queries from `records`, several addresses per name like Swarm's
 * `tasks.<service>`, NXDOMAIN for any other name, and forwards nothing anywhere.
 */
import dns2 from 'dns2'

export interface DnsServer {
  /** `127.0.0.1:<port>`, for CONCLAVE_DNS_SERVERS. */
  server: string
  stop(): Promise<void>
}

const NXDOMAIN = 3

export async function startDnsServer(records: Array<{ name: string; ip: string }>): Promise<DnsServer> {
  const { Packet } = dns2
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request)
      for (const question of request.questions) {
        const name = question.name.toLowerCase()
        const matches = records.filter(r => r.name === name)
        if (matches.length === 0) response.header.rcode = NXDOMAIN
        if (question.type !== Packet.TYPE.A) continue
        // dns2's Resource type wants its encoder too; plain records are what its server encodes.
        for (const r of matches) {
          response.answers.push({
            name: question.name,
            type: Packet.TYPE.A,
            class: Packet.CLASS.IN,
            ttl: 5,
            address: r.ip
          } as unknown as (typeof response.answers)[number])
        }
      }
      void send(response)
    }
  })
  const addresses = await server.listen({ udp: { port: 0, address: '127.0.0.1' } })
  if (addresses.udp === undefined) throw new Error('the DNS server did not bind UDP')
  return {
    server: `127.0.0.1:${addresses.udp.port}`,
    stop: async () => {
      await server.close()
    }
  }
}
