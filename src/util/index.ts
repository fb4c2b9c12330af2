/** Helpers shared by every capability: deadlines, file writes, JSON limits, locks, loop stalls, statistics. */
export * from './deadline.js'
export * from './errors.js'
export * from './fs.js'
export * from './json.js'
export * from './lock.js'
export * from './loop-stalls.js'
export * from './stats.js'
