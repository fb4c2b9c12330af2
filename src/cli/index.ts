/** The `conclave` command line; `bin.ts` is the executable that runs it. */
export { main } from './main.js'
