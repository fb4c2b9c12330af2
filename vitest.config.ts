import { defineConfig } from 'vitest/config'

/**
 * Files that must run alone: they load both cores on purpose (34 agents in one process, an
 * overload of every API) and assert that nobody is declared dead meanwhile, or count what a quiet
 * mesh sends (another file's load would make its agents probe again and refute).
 */
const ALONE = ['test/mesh.test.ts', 'test/overload.test.ts', 'test/idle.test.ts']

export default defineConfig({
  test: {
    // Multi-node tests start real libp2p nodes; they wait on conditions with their own deadlines.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        // Two files at a time (the machine has 2 cores): multi-node tests mostly wait on timers and
        // the network, and each waits on conditions with deadlines, never on sleeps.
        test: {
          name: 'paired',
          include: ['test/**/*.test.ts'],
          exclude: ALONE,
          maxWorkers: 2,
          sequence: { groupOrder: 0 }
        }
      },
      {
        extends: true,
        test: { name: 'alone', include: ALONE, fileParallelism: false, sequence: { groupOrder: 1 } }
      }
    ]
  }
})
