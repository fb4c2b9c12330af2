/**
 * Zod schemas that turn one raw string (from an env var or a flag) into a typed value.
 * Each failure message says what was expected, so the caller only has to name the source.
 */
import { isIP } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { z } from 'zod'
import { operatorTokenProblem } from '../access/operator.js'
import { BUILTIN_BEHAVIOURS } from '../behaviour/constants.js'

export interface HostPort {
  host: string
  port: number
}

const list = (raw: string): string[] =>
  raw
    .split(',')
    .map(s => s.trim())
    .filter(s => s.length > 0)

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined
  const port = Number(text)
  return port <= 65535 ? port : undefined
}

/** `host:port`, `[v6]:port`; the port may be 0 (pick a free one). */
export function parseHostPort(raw: string, defaultPort?: number): HostPort | string {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(raw)
  let host: string
  let portText: string | undefined
  const colons = raw.split(':').length - 1
  if (bracketed != null) {
    host = bracketed[1] ?? ''
    portText = bracketed[2]
  } else if (colons > 1) {
    return `"${raw}" is not host:port (write IPv6 hosts as [addr]:port)`
  } else if (colons === 1) {
    const at = raw.indexOf(':')
    host = raw.slice(0, at)
    portText = raw.slice(at + 1)
  } else {
    host = raw
  }
  if (host.length === 0) return `"${raw}" has no host`
  if (
    isIP(host) === 0 &&
    !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(host)
  ) {
    return `"${host}" is not an IP address or host name`
  }
  if (portText === undefined) {
    if (defaultPort === undefined) return `"${raw}" has no port (expected host:port)`
    return { host, port: defaultPort }
  }
  const port = parsePort(portText)
  if (port === undefined) return `"${portText}" is not a port (0-65535)`
  return { host, port }
}

/** A parse failure, carrying the message shown to the user. */
class Invalid {
  constructor(readonly message: string) {}
}
const invalid = (message: string): Invalid => new Invalid(message)

function custom<T>(fn: (raw: string) => T | Invalid): z.ZodType<T, string> {
  return z.string().transform((raw, ctx) => {
    const out = fn(raw)
    if (out instanceof Invalid) {
      ctx.addIssue({ code: 'custom', message: out.message })
      return z.NEVER
    }
    return out
  }) as unknown as z.ZodType<T, string>
}

function checkMultiaddr(text: string, kind: 'listen' | 'dial'): string | undefined {
  let ma
  try {
    ma = multiaddr(text)
  } catch (err) {
    return `"${text}" is not a valid multiaddr (${(err as Error).message})`
  }
  const names = ma.protoNames()
  if (kind === 'listen') {
    if (!(names[0] === 'ip4' || names[0] === 'ip6') || names[1] !== 'tcp') {
      return `"${text}" must be /ip4/<addr>/tcp/<port> or /ip6/<addr>/tcp/<port>`
    }
    if (names.includes('p2p')) return `"${text}" must not contain /p2p/ (the peer id comes from the data dir)`
    return undefined
  }
  // The text after /p2p/ (getPeerId() answers null for one it cannot parse).
  const peer = names.includes('p2p') ? (/\/p2p\/([^/]*)/.exec(text)?.[1] ?? '') : undefined
  if (peer !== undefined) {
    try {
      peerIdFromString(peer)
    } catch (err) {
      return `"${text}" names an invalid peer id "${peer}" (${(err as Error).message}; \`conclave id\` prints an agent's)`
    }
  }
  if (names[0] === 'dnsaddr') return undefined
  if (!['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(names[0] ?? '') || names[1] !== 'tcp') {
    return `"${text}" must be /ip4, /ip6, /dns4, /dns6 or /dnsaddr followed by /tcp/<port> (and optionally /p2p/<id>)`
  }
  return undefined
}

const multiaddrList = (kind: 'listen' | 'dial', allowEmpty: boolean): z.ZodType<string[], string> =>
  custom(raw => {
    const items = list(raw)
    if (items.length === 0 && !allowEmpty) return invalid('needs at least one multiaddr')
    for (const item of items) {
      const problem = checkMultiaddr(item, kind)
      if (problem !== undefined) return invalid(problem)
    }
    return items
  })

const logLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
  error: () => 'must be one of fatal, error, warn, info, debug, trace, silent'
})

export const values = {
  logLevel: z
    .string()
    .transform(s => s.trim().toLowerCase())
    .pipe(logLevelSchema),
  listen: multiaddrList('listen', false),
  announce: z
    .string()
    .transform(list)
    .pipe(z.array(z.string()))
    .superRefine((items, ctx) => {
      for (const item of items) {
        try {
          multiaddr(item)
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: `"${item}" is not a valid multiaddr (${(err as Error).message})` })
        }
      }
    }) as unknown as z.ZodType<string[], string>,
  bootstrap: multiaddrList('dial', true),
  hostPort: custom<HostPort>(raw => {
    const parsed = parseHostPort(raw.trim())
    return typeof parsed === 'string' ? invalid(parsed) : parsed
  }),
  dnsPeers: custom<HostPort[]>(raw => {
    const out: HostPort[] = []
    for (const item of list(raw)) {
      const parsed = parseHostPort(item, 4001)
      if (typeof parsed === 'string') return invalid(parsed)
      out.push(parsed)
    }
    return out
  }),
  dnsServers: custom<string[]>(raw => {
    const items = list(raw)
    for (const item of items) {
      const parsed = parseHostPort(item, 53)
      if (typeof parsed === 'string') return invalid(parsed)
      if (isIP(parsed.host) === 0) return invalid(`"${item}" must be an IP address (with an optional :port)`)
    }
    return items
  }),
  boolean: custom<boolean>(raw => {
    const v = raw.trim().toLowerCase()
    if (['true', '1', 'yes', 'on'].includes(v)) return true
    if (['false', '0', 'no', 'off'].includes(v)) return false
    return invalid(`"${raw}" is not a boolean (use true or false)`)
  }),
  integer: (min: number, max: number): z.ZodType<number, string> =>
    custom<number>(raw => {
      const v = raw.trim()
      if (!/^-?\d+$/.test(v)) return invalid(`"${raw}" is not a whole number`)
      const n = Number(v)
      if (n < min || n > max) return invalid(`${n} is out of range (${min}-${max})`)
      return n
    }),
  /** A positive decimal number from `min` to `max` (`0.02`, `5`). */
  decimal: (min: number, max: number): z.ZodType<number, string> =>
    custom<number>(raw => {
      const v = raw.trim()
      if (!/^\d+(\.\d+)?$/.test(v)) return invalid(`"${raw}" is not a number (for example 0.02 or 5)`)
      const n = Number(v)
      if (n < min || n > max) return invalid(`${n} is out of range (${min}-${max})`)
      return n
    }),
  /** A probe period: 0 (rounds off) or 50 ms to 10 minutes. */
  probeInterval: custom<number>(raw => {
    const v = raw.trim()
    if (!/^\d+$/.test(v)) return invalid(`"${raw}" is not a whole number`)
    const n = Number(v)
    if (n !== 0 && (n < 50 || n > 600_000)) {
      return invalid(`${n} is out of range (0 to turn probe rounds off, or 50-600000)`)
    }
    return n
  }),
  name: custom<string>(raw => {
    const v = raw.trim()
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(v)) {
      return invalid(`"${raw}" must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`)
    }
    return v
  }),
  roles: custom<string[]>(raw => {
    const items = list(raw)
    for (const item of items) {
      if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(item)) {
        return invalid(`role "${item}" must be lower-case letters, digits and '-'`)
      }
    }
    return [...new Set(items)]
  }),
  paths: custom<string[]>(raw => list(raw)),
  path: custom<string>(raw => (raw.trim().length === 0 ? invalid('must not be empty') : raw.trim())),
  apiToken: custom<string>(raw => {
    const problem = operatorTokenProblem(raw.trim())
    return problem === undefined ? raw.trim() : invalid(`${problem} (e.g. \`openssl rand -base64 32\`)`)
  }),
  hostNames: custom<string[]>(raw => {
    const names = list(raw)
    const bad = names.find(
      n =>
        n !== '*' &&
        !/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(n)
    )
    return bad === undefined ? names : invalid(`"${bad}" is not a host name (or *.domain, or *)`)
  }),
  text: custom<string>(raw => (raw.trim().length === 0 ? invalid('must not be empty') : raw.trim())),
  httpUrl: custom<string>(raw => {
    try {
      const url = new URL(raw.trim())
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        return invalid(`"${raw}" must be an http:// or https:// URL`)
      }
      return url.toString().replace(/\/$/, '')
    } catch {
      return invalid(`"${raw}" is not a URL (e.g. http://127.0.0.1:11434/v1)`)
    }
  }),
  behaviours: custom<string[]>(raw => {
    const items = list(raw)
    for (const item of items) {
      if (!(BUILTIN_BEHAVIOURS as readonly string[]).includes(item) && !/[./\\]/.test(item)) {
        return invalid(
          `"${item}" is neither a built-in behaviour (${BUILTIN_BEHAVIOURS.join(', ')}) nor a module path (./my-behaviour.js)`
        )
      }
    }
    return items
  }),
  serviceTag: custom<string>(raw => {
    const v = raw.trim()
    if (!/^[A-Za-z0-9_.-]{1,200}\.local$/.test(v)) {
      return invalid(`"${raw}" must be a DNS-SD name ending in .local (e.g. _conclave._udp.local)`)
    }
    return v
  })
}
