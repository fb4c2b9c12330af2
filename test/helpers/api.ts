import type { Agent } from '../../src/agent/index.js'

/** `fetch` of a path of an agent's API with its operator token. */
export async function apiFetch(
  agent: Pick<Agent, 'url' | 'apiToken'> | undefined,
  path: string,
  init: RequestInit = {}
): Promise<Response> {
  if (agent === undefined) throw new Error(`no agent to ask for ${path}`)
  const headers = { authorization: `Bearer ${agent.apiToken}`, ...(init.headers as Record<string, string> | undefined) }
  return await fetch(`${agent.url}${path}`, { ...init, headers })
}
