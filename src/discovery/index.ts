export {
  seedDialer,
  type SeedDialer,
  type SeedDialerInit,
  type SeedDialerComponents,
  type SeedStatus
} from './seeds.js'
export { DnsPeerResolver, tcpMultiaddr, type DnsTarget } from './dns.js'
export { DEFAULT_DNS_INTERVAL_MS } from './constants.js'
