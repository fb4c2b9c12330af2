import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { existsSync } from 'node:fs'
import { BehaviourSet, problemOf, type Behaviour } from './behaviour.js'
import { BUILTIN_BEHAVIOURS } from './constants.js'
import { BehaviourError } from './errors.js'
import { llmBehaviour } from './llm.js'
import { simulatedBehaviour } from './simulated.js'

export interface BehaviourConfig {
  /** `CONCLAVE_BEHAVIOUR`: built-in names and module paths; empty means `simulated`. */
  behaviour: string[]
  llmUrl?: string
  llmModel?: string
  llmApiKey?: string
  llmTimeoutMs?: number
}

const isBuiltin = (item: string): item is (typeof BUILTIN_BEHAVIOURS)[number] =>
  (BUILTIN_BEHAVIOURS as readonly string[]).includes(item)

function builtin(name: (typeof BUILTIN_BEHAVIOURS)[number], config: BehaviourConfig): Behaviour {
  if (name === 'simulated') return simulatedBehaviour()
  if (name !== 'llm') return simulatedBehaviour([name])
  if (config.llmUrl === undefined) {
    throw new BehaviourError('llm needs CONCLAVE_LLM_URL (an OpenAI-compatible API, e.g. http://127.0.0.1:11434/v1)')
  }
  if (config.llmModel === undefined) throw new BehaviourError('llm needs CONCLAVE_LLM_MODEL (e.g. llama3.2)')
  return llmBehaviour({
    url: config.llmUrl,
    model: config.llmModel,
    ...(config.llmApiKey !== undefined ? { apiKey: config.llmApiKey } : {}),
    ...(config.llmTimeoutMs !== undefined ? { timeoutMs: config.llmTimeoutMs } : {})
  })
}

/** A user module's behaviours: its default export, or `behaviour` / `behaviours`; one or an array. */
async function fromModule(item: string): Promise<Behaviour[]> {
  const path = isAbsolute(item) ? item : resolve(item)
  if (!existsSync(path)) throw new BehaviourError(`module ${item} not found (looked at ${path})`)
  let mod: Record<string, unknown>
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>
  } catch (err) {
    throw new BehaviourError(`module ${item} failed to load: ${(err as Error).message}`, { cause: err })
  }
  const exported = mod.default ?? mod.behaviours ?? mod.behaviour
  if (exported === undefined) {
    throw new BehaviourError(`module ${item} exports no behaviour (export default defineBehaviour({ roles, onTask }))`)
  }
  const list = Array.isArray(exported) ? exported : [exported]
  return list.map((b, i) => {
    const problem = problemOf(b)
    if (problem !== undefined) {
      throw new BehaviourError(`module ${item}${list.length > 1 ? ` behaviour ${i}` : ''}: ${problem}`)
    }
    const def = b as Behaviour
    return { name: def.name ?? item, roles: def.roles, onTask: def.onTask }
  })
}

/** Resolve `CONCLAVE_BEHAVIOUR`. Throws `BehaviourError` naming the item that failed. */
export async function loadBehaviours(config: BehaviourConfig): Promise<BehaviourSet> {
  const items = config.behaviour.length === 0 ? ['simulated'] : config.behaviour
  const behaviours: Behaviour[] = []
  for (const item of items) {
    behaviours.push(...(isBuiltin(item) ? [builtin(item, config)] : await fromModule(item)))
  }
  return new BehaviourSet(behaviours)
}
