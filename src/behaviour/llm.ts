import { z } from 'zod'
import { defineBehaviour, type Behaviour } from './behaviour.js'
import { DEFAULT_LLM_TIMEOUT_MS, LLM_ERROR_BODY_CHARS, MAX_LLM_PROMPT_CHARS } from './constants.js'
import { LlmError } from './errors.js'

export interface LlmInit {
  /** Base URL of an OpenAI-compatible API (`http://ollama:11434/v1`), or its `/chat/completions` URL. */
  url: string
  model: string
  /**
   * Sent as `Authorization: Bearer …` when set.
   *
   * @default none
   */
  apiKey?: string
  /**
   * A request that has not answered by then fails.
   *
   * @default 120000
   */
  timeoutMs?: number
  /**
   * Roles it works for.
   *
   * @default ['*']
   */
  roles?: string[]
}

const completionSchema = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string() }) })).min(1),
  usage: z.object({ total_tokens: z.number().optional() }).passthrough().optional()
})

/** The chat completions URL of an OpenAI-compatible API. */
export function completionsUrl(url: string): string {
  const trimmed = url.replace(/\/+$/, '')
  return trimmed.endsWith('/chat/completions') ? trimmed : `${trimmed}/chat/completions`
}

/**
 * Sends each task to an OpenAI-compatible chat endpoint (OpenAI, Ollama, vLLM, llama.cpp): the
 * system message names the role and project, the user message is the input. The reply's text is
 * the output. HTTP errors, timeouts and malformed replies fail the task with `LlmError`.
 */
export function llmBehaviour(init: LlmInit): Behaviour {
  const url = completionsUrl(init.url)
  const timeoutMs = init.timeoutMs ?? DEFAULT_LLM_TIMEOUT_MS
  return defineBehaviour({
    name: 'llm',
    roles: init.roles ?? ['*'],
    async onTask(task, ctx) {
      const prompt = typeof task.input === 'string' ? task.input : JSON.stringify(task.input)
      if (prompt.length > MAX_LLM_PROMPT_CHARS) {
        throw new LlmError(`input is ${prompt.length} characters; the LLM prompt limit is ${MAX_LLM_PROMPT_CHARS}`)
      }
      const body = {
        model: init.model,
        messages: [
          {
            role: 'system',
            content: `You are the ${task.role} of the council for project "${ctx.council.project}". Answer the task concisely.`
          },
          { role: 'user', content: prompt }
        ],
        stream: false
      }
      const timeout = AbortSignal.timeout(timeoutMs)
      let res: Response
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(init.apiKey !== undefined ? { authorization: `Bearer ${init.apiKey}` } : {})
          },
          body: JSON.stringify(body),
          signal: AbortSignal.any([ctx.signal, timeout])
        })
      } catch (err) {
        if (timeout.aborted) throw new LlmError(`LLM endpoint ${url} did not answer within ${timeoutMs} ms`)
        if (ctx.signal.aborted) throw ctx.signal.reason
        throw new LlmError(`LLM endpoint ${url} unreachable: ${(err as Error).message}`, { cause: err })
      }
      const text = await res.text().catch(() => '')
      if (!res.ok) {
        throw new LlmError(`LLM endpoint ${url} answered ${res.status}: ${text.slice(0, LLM_ERROR_BODY_CHARS)}`)
      }
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        throw new LlmError(
          `LLM endpoint ${url} answered with something that is not JSON: ${text.slice(0, LLM_ERROR_BODY_CHARS)}`
        )
      }
      const parsed = completionSchema.safeParse(json)
      if (!parsed.success) throw new LlmError(`LLM endpoint ${url} answered without choices[0].message.content`)
      const content = parsed.data.choices[0]?.message.content ?? ''
      return { output: content, summary: content.slice(0, 200), reward: null }
    }
  })
}
