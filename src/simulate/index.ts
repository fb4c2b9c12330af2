export {
  simulate,
  replayCommand,
  trialSeed,
  SCENARIOS,
  type Scenario,
  type SimulateOptions,
  type SimulateResult
} from './run.js'
export { World, agentId, type WorldOptions, type Slot, type Traffic } from './world.js'
export { Network, type LatencyModel, type NetworkOptions } from './network.js'
export { MembershipMonitor, converged, type Violation } from './monitor.js'
export { prng, deriveSeed } from './random.js'
