import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Multi-node tests start real libp2p nodes; they wait on conditions with their own deadlines.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Files run one at a time: the machine has 2 cores and every file starts many nodes.
    fileParallelism: false,
    reporters: ['default']
  }
})
