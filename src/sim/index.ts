export { Sim, SIM_DEFAULTS, type SimInit } from './sim.js'
export {
  runFederation,
  federationProblems,
  FEDERATION_TENANT,
  OTHER_TENANT,
  type FederationInit,
  type FederationReport,
  type FederationAgentReport
} from './federation.js'
