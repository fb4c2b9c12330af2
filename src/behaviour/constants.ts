/** How long simulated work takes when the input does not say. */
export const SIMULATED_WORK_MS = 5
/** Longest simulated work an input may ask for. */
export const MAX_SIMULATED_WORK_MS = 600_000
/** An LLM request that has not answered by then fails (the task's own timeout may be shorter). */
export const DEFAULT_LLM_TIMEOUT_MS = 120_000
/** Longest prompt sent to the LLM (characters of the task input as text). */
export const MAX_LLM_PROMPT_CHARS = 64 * 1024
/** Characters of the task input sent to the LLM, and of an error body quoted back. */
export const LLM_ERROR_BODY_CHARS = 300
/** Built-in behaviour names `CONCLAVE_BEHAVIOUR` accepts besides module paths. */
export const BUILTIN_BEHAVIOURS = ['simulated', 'researcher', 'coder', 'tester', 'reviewer', 'llm'] as const
