/** A DNS name of CONCLAVE_DNS_PEERS did not resolve to any address. */
export class DnsResolveError extends Error {
  static readonly code = 'ERR_DNS_RESOLVE'
  override readonly name = 'DnsResolveError'
  readonly code = DnsResolveError.code
}
