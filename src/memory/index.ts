export {
  Memory,
  type MemoryInit,
  type MemoryComponents,
  type MemoryMembership,
  type MemoryStats,
  type EpisodeSource
} from './memory.js'
export { EpisodeStore, type EpisodeFilter, type Retention, type TenantStats, type HaveVector } from './store.js'
export { episodeSchema, episodeInputSchema, episodeId, type Episode, type EpisodeInput } from './episode.js'
export { readEpisodesJsonl, writeEpisodesJsonl } from './jsonl.js'
export { EpisodeError, MemoryQueryError, MemoryStoreError } from './errors.js'
export * as MEMORY from './constants.js'
