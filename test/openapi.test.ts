/**
 * docs/openapi.yaml describes the API the server has (issue #7): the same routes and methods,
 * and what a running agent answers carries the required fields of the documented schemas.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import type { Agent } from '../src/agent/index.js'
import { Access } from '../src/access/index.js'
import { createApiApp, type ApiSource } from '../src/api/index.js'
import { Sim } from '../src/sim/index.js'
import { ROOT } from './helpers/paths.js'
import { waitFor } from './helpers/wait.js'
import { apiFetch } from './helpers/api.js'

interface Spec {
  paths: Record<string, Record<string, any>>
  components: { schemas: Record<string, { required?: string[]; properties?: Record<string, unknown> }> }
}
const METHODS = ['get', 'post', 'put', 'delete', 'patch']

async function spec(): Promise<Spec> {
  return parse(await readFile(join(ROOT, 'docs', 'openapi.yaml'), 'utf8')) as Spec
}

/** Every `METHOD /path` the Hono app routes (`:param` written as `{param}`). */
function serverRoutes(): string[] {
  const app = createApiApp({} as unknown as ApiSource, {
    access: new Access({ operatorToken: 'x'.repeat(32), keyring: () => undefined })
  })
  return [
    ...new Set(
      app.routes
        .filter(r => METHODS.includes(r.method.toLowerCase()))
        .map(r => `${r.method.toUpperCase()} ${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}`)
    )
  ].sort()
}

describe('OpenAPI description', () => {
  it('lists exactly the routes and methods the server has', async () => {
    const documented = Object.entries((await spec()).paths)
      .flatMap(([path, item]) =>
        Object.keys(item)
          .filter(m => METHODS.includes(m))
          .map(m => `${m.toUpperCase()} ${path}`)
      )
      .sort()
    expect(documented).toEqual(serverRoutes())
  })

  it('every $ref resolves', async () => {
    const text = await readFile(join(ROOT, 'docs', 'openapi.yaml'), 'utf8')
    const doc = parse(text) as Record<string, any>
    for (const m of text.matchAll(/\$ref: '#\/([^']+)'/g)) {
      const target = (m[1] as string).split('/').reduce<any>((node, key) => node?.[key], doc)
      expect(target, m[1]).toBeDefined()
    }
  })

  describe('against a running agent', () => {
    let sim: Sim
    beforeAll(async () => {
      sim = await Sim.start({ agents: 2, roles: i => (i === 0 ? ['tpm'] : ['coder']) })
      await waitFor(() => sim.convergedCount() === 2, { timeoutMs: 30_000, message: 'not converged' })
    }, 60_000)
    afterAll(async () => {
      await sim?.stop()
    })

    it('answers carry the required fields of the documented schemas', async () => {
      const {
        components: { schemas }
      } = await spec()
      const agent = sim.agents[0] as Agent
      const check = (value: Record<string, unknown>, schema: string): void => {
        for (const field of schemas[schema]?.required ?? []) expect(value, `${schema}.${field}`).toHaveProperty(field)
        // Nothing undocumented either.
        for (const field of Object.keys(value)) {
          expect(Object.keys(schemas[schema]?.properties ?? {}), `${schema} does not document ${field}`).toContain(
            field
          )
        }
      }
      check((await (await apiFetch(agent, `/v1/self`)).json()) as Record<string, unknown>, 'Self')
      const peers = (await (await apiFetch(agent, `/v1/peers`)).json()) as Array<Record<string, unknown>>
      expect(peers.length).toBe(1)
      for (const p of peers) check(p, 'Peer')
      const opened = await apiFetch(agent, `/v1/councils`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ project: 'spec', coreRoles: ['tpm'], optionalRoles: ['coder'] })
      })
      expect(opened.status).toBe(201)
      const { id } = (await opened.json()) as { id: string }
      await waitFor(() => agent.councils.get(id)?.state === 'active', { timeoutMs: 20_000, message: 'not active' })
      check((await (await apiFetch(agent, `/v1/councils/${id}`)).json()) as Record<string, unknown>, 'Council')
      const submitted = await apiFetch(agent, `/v1/councils/${id}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'coder', input: 'x' })
      })
      expect(submitted.status).toBe(202)
      const { taskId } = (await submitted.json()) as { taskId: string }
      await waitFor(() => agent.tasks.get(id, taskId)?.state === 'done', {
        timeoutMs: 20_000,
        message: 'task not done'
      })
      check(
        (await (await apiFetch(agent, `/v1/councils/${id}/tasks/${taskId}`)).json()) as Record<string, unknown>,
        'Task'
      )
      const episodes = (await (await apiFetch(agent, `/v1/memory`)).json()) as Array<Record<string, unknown>>
      expect(episodes.length).toBeGreaterThan(0)
      for (const e of episodes) check(e, 'Episode')
      const bad = await apiFetch(agent, `/v1/councils`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"project":""}'
      })
      expect(bad.status).toBe(400)
      check((await bad.json()) as Record<string, unknown>, 'Error')
    })
  })
})
