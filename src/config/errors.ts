/** One problem with one setting, named the way the user wrote it (an env var or a flag). */
export interface ConfigProblem {
  /** `CONCLAVE_LISTEN`, `--listen`, … */
  source: string
  message: string
}

/** Start-up configuration is invalid. The CLI exits with code 2 and prints every problem. */
export class ConfigError extends Error {
  static readonly code = 'ERR_CONFIG'
  override readonly name = 'ConfigError'
  readonly code = ConfigError.code
  readonly problems: ConfigProblem[]

  constructor(problems: ConfigProblem[]) {
    super(problems.map(p => `${p.source}: ${p.message}`).join('\n'))
    this.problems = problems
  }

  static single(source: string, message: string): ConfigError {
    return new ConfigError([{ source, message }])
  }
}
