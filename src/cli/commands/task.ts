import { apiTarget, refused, type ApiTargetOptions } from '../api.js'
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK } from '../exit.js'

export interface TaskRunOptions extends ApiTargetOptions {
  council?: string
  role?: string
  input?: string
  id?: string
  timeoutMs?: string
  wait: boolean
}

interface TaskJson {
  state: string
  holder: string | null
  epoch: number
  attempts: number
  result?: unknown
  error?: string
}

const FLAG_OF: Record<string, string> = { role: '--role', input: '--input', timeoutMs: '--timeout-ms', id: '--id' }

/** `--input` as JSON when it parses, else as a string. */
function parseInput(raw: string): unknown {
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

const fail = (message: string, code = EXIT_CONFIG): number => {
  process.stderr.write(`conclave: ${message}\n`)
  return code
}

/** `conclave task run`: submit a task to a council through a running agent and, by default, wait for its result. */
export async function taskRunCommand(opts: TaskRunOptions): Promise<number> {
  const target = await apiTarget(opts)
  if (target instanceof Error) return fail(target.message)
  const base = target.base
  if (opts.council === undefined) return fail('--council: required (an id from `conclave council list`)')
  if (opts.role === undefined) return fail('--role: required')
  if (opts.input === undefined) return fail('--input: required (JSON, or text)')
  if (opts.timeoutMs !== undefined && !/^\d+$/.test(opts.timeoutMs)) {
    return fail(`--timeout-ms: "${opts.timeoutMs}" is not a whole number`)
  }
  const timeoutMs = opts.timeoutMs === undefined ? undefined : Number(opts.timeoutMs)
  const body = {
    role: opts.role,
    input: parseInput(opts.input),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(opts.id !== undefined ? { id: opts.id } : {})
  }
  const councilPath = `/v1/councils/${encodeURIComponent(opts.council)}`
  let res: Response
  try {
    res = await target.fetch(`${councilPath}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000)
    })
  } catch (err) {
    return fail(`cannot reach ${base}: ${(err as Error).message}`, EXIT_FAILURE)
  }
  if (res.status === 401 || res.status === 403) return await refused(base, res)
  const answer = (await res.json().catch(() => ({}))) as { taskId?: string; error?: string; field?: string }
  if (res.status === 400) {
    return fail(`${FLAG_OF[(answer.field ?? '').split('.')[0] ?? ''] ?? 'task'}: ${answer.error ?? 'refused'}`)
  }
  if (res.status === 404) return fail(`${answer.error ?? 'not found'}`)
  if (res.status !== 202 || answer.taskId === undefined) {
    return fail(`${base} answered ${res.status}: ${answer.error ?? ''}`, EXIT_FAILURE)
  }
  if (!opts.wait) {
    process.stdout.write(`${answer.taskId}\n`)
    return EXIT_OK
  }
  process.stderr.write(`task ${answer.taskId} submitted\n`)
  // Wait a little past the task's own deadline: the holder reports the timeout itself.
  const deadline = Date.now() + (timeoutMs ?? 300_000) + 5_000
  let last = ''
  while (Date.now() < deadline) {
    const task = await target
      .fetch(`${councilPath}/tasks/${answer.taskId}`, { signal: AbortSignal.timeout(5_000) })
      .then(async r => (r.ok ? ((await r.json()) as TaskJson) : undefined))
      .catch(() => undefined)
    if (task !== undefined) {
      const line = `${task.state} (holder ${task.holder ?? 'none'}, epoch ${task.epoch}, attempt ${task.attempts})`
      if (line !== last) process.stderr.write(`  ${line}\n`)
      last = line
      if (task.state === 'done') {
        process.stdout.write(`${JSON.stringify({ taskId: answer.taskId, result: task.result ?? null })}\n`)
        return EXIT_OK
      }
      if (task.state === 'failed') {
        return fail(`task ${answer.taskId} failed: ${task.error ?? 'unknown error'}`, EXIT_FAILURE)
      }
    }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  return fail(
    `task ${answer.taskId} has no result yet; follow it with GET ${base}${councilPath}/tasks/${answer.taskId}`,
    EXIT_FAILURE
  )
}
