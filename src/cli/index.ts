/** The `conclave` command line; `bin.ts` is the executable that runs it. */
export { cliProgram, main } from './main.js'
