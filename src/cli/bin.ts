#!/usr/bin/env node
// Entry point. Checks the Node version before loading anything else: libp2p's dependencies need
// Node 22 (Promise.withResolvers) and would otherwise fail with an obscure TypeError.
const MIN_MAJOR = 22
const major = Number(process.versions.node.split('.')[0])
if (!(major >= MIN_MAJOR)) {
  process.stderr.write(
    `conclave: Node.js ${MIN_MAJOR} or newer is required (this is ${process.version}).\n` +
      'Install Node.js 22+, or run through the npm scripts (npm start, npm test), which use the Node 22 that npm install put in node_modules.\n'
  )
  process.exit(1)
}
// node:sqlite (episode memory) is stable enough for us but still flagged experimental in Node 22;
// its one-time warning would look like a fault to operators reading the logs.
const emitWarning = process.emitWarning.bind(process)
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  if (String(warning).includes('SQLite is an experimental feature')) return
  ;(emitWarning as (...args: unknown[]) => void)(warning, ...rest)
}) as typeof process.emitWarning
const { main } = await import('./main.js')
process.exitCode = await main(process.argv.slice(2))
