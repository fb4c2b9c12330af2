/** The episode database cannot be opened or written (disk, permissions, corruption). */
export class MemoryStoreError extends Error {
  static readonly code = 'ERR_MEMORY_STORE'
  override readonly name = 'MemoryStoreError'
  readonly code = MemoryStoreError.code
}

/** An episode (recorded by a behaviour, or imported) is invalid; `field` names what. */
export class EpisodeError extends Error {
  static readonly code = 'ERR_EPISODE'
  override readonly name = 'EpisodeError'
  readonly code = EpisodeError.code
  readonly field: string

  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`)
    this.field = field
  }
}

/** A memory query (HTTP query string) is invalid; `field` names the parameter. */
export class MemoryQueryError extends Error {
  static readonly code = 'ERR_MEMORY_QUERY'
  override readonly name = 'MemoryQueryError'
  readonly code = MemoryQueryError.code
  readonly field: string

  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`)
    this.field = field
  }
}
