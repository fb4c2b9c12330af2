/** Another running agent holds the data dir (two agents would share a peer id and overwrite each other's state). */
export class DataDirInUseError extends Error {
  static readonly code = 'ERR_DATA_DIR_IN_USE'
  override readonly name = 'DataDirInUseError'
  readonly code = DataDirInUseError.code

  constructor(dir: string, options?: ErrorOptions) {
    super(`data dir ${dir} is in use by another running agent (each agent needs its own)`, options)
  }
}
