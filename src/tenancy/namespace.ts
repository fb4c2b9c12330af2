/**
 * Topic namespaces: every topic is `/conclave/1/<tenant>/<channel>`, so a tenant's traffic never
 * shares a topic with another's.
 */
export const TOPIC_PREFIX = '/conclave/1'
/** The open namespace agents without credentials run in. */
export const DEFAULT_TENANT = 'default'

const SEGMENT = /^[a-z0-9][a-z0-9._-]{0,63}$/

export function isValidTenantId(id: string): boolean {
  return SEGMENT.test(id)
}

export function topicFor(tenant: string, channel: string): string {
  return `${TOPIC_PREFIX}/${tenant}/${channel}`
}

/** `{tenant, channel}` of a Conclave topic, or undefined for any other string. */
export function parseTopic(topic: string): { tenant: string; channel: string } | undefined {
  if (!topic.startsWith(TOPIC_PREFIX + '/')) return undefined
  const [tenant, channel, ...rest] = topic.slice(TOPIC_PREFIX.length + 1).split('/')
  if (tenant === undefined || channel === undefined || rest.length > 0) return undefined
  if (!SEGMENT.test(tenant) || !SEGMENT.test(channel)) return undefined
  return { tenant, channel }
}
