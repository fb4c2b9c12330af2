/** The scenarios `conclave simulate` runs; a module of its own so that the CLI's help loads no simulator. */
export const SCENARIOS = ['formation', 'failover', 'handover', 'partitions', 'churn', 'membership'] as const
export type Scenario = (typeof SCENARIOS)[number]
