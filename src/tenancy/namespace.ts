/**
 * Topic namespaces: each tenant has one gossipsub topic, `/conclave/2/<tenant>`, so a tenant's
 * traffic never shares a topic with another's. Channels (presence, council, task, memory,
 * control…) are named in each envelope's header, not in the topic: one mesh per tenant instead
 * of one per channel.
 */
export const TOPIC_PREFIX = '/conclave/2'
/** The open namespace agents without credentials run in. */
export const DEFAULT_TENANT = 'default'

const SEGMENT = /^[a-z0-9][a-z0-9._-]{0,63}$/

export function isValidTenantId(id: string): boolean {
  return SEGMENT.test(id)
}

/** The gossipsub topic of a tenant: every channel of the tenant travels on it. */
export function topicFor(tenant: string): string {
  return `${TOPIC_PREFIX}/${tenant}`
}

/** `{tenant}` of a Conclave topic, or undefined for any other string. */
export function parseTopic(topic: string): { tenant: string } | undefined {
  if (!topic.startsWith(TOPIC_PREFIX + '/')) return undefined
  const tenant = topic.slice(TOPIC_PREFIX.length + 1)
  if (!SEGMENT.test(tenant)) return undefined
  return { tenant }
}

/** Channel names follow the tenant id's rules: lower-case letters, digits, ".", "_", "-". */
export function isValidChannel(name: string): boolean {
  return SEGMENT.test(name)
}
