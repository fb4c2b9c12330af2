import { Command, CommanderError } from 'commander'
import { VERSION } from '../version.js'
import { configCommand } from './commands/config.js'
import { keygenCommand } from './commands/keygen.js'
import { simCommand } from './commands/sim.js'
import { startCommand } from './commands/start.js'
import { statusCommand } from './commands/status.js'
import { EXIT_CONFIG, EXIT_OK } from './exit.js'
import { addAgentOptions, agentFlags } from './options.js'

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main (argv: string[]): Promise<number> {
  let code = EXIT_OK
  const program = new Command('conclave')
    .description('Peer-to-peer mesh runtime for agents')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError()

  addAgentOptions(program.command('start').description('run one agent in the foreground (flags override CONCLAVE_* env)'))
    .action(async (opts: Record<string, unknown>) => { code = await startCommand(agentFlags(opts)) })

  addAgentOptions(program.command('config').description('validate and print the resolved configuration; exit 2 on error'))
    .action(async (opts: Record<string, unknown>) => { code = await configCommand(agentFlags(opts)) })

  program.command('keygen').description('create an identity key and print its peer id')
    .option('--data-dir <dir>', 'write <dir>/identity.key [CONCLAVE_DATA_DIR]')
    .option('--out <file>', 'write the key to this file instead')
    .option('--force', 'replace an existing key (the peer id changes)')
    .action(async (opts: { dataDir?: string, out?: string, force?: boolean }) => { code = await keygenCommand(opts) })

  program.command('status').description('show the membership view of a running agent')
    .option('--api <url>', 'agent API base URL (default: from CONCLAVE_HTTP, else http://127.0.0.1:8080)')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { api?: string, json?: boolean }) => { code = await statusCommand(opts) })

  program.command('sim').description('run N agents in this process on loopback (demos and tests)')
    .option('--agents <n>', 'number of agents', '5')
    .option('--http-base-port <port>', 'HTTP port of agent-0; the others count up (0 = free ports)', '8080')
    .option('--mdns', 'discover with mDNS instead of bootstrapping from agent-0')
    .option('--mdns-service-tag <tag>', 'mDNS service tag')
    .option('--exit-when-converged', 'stop once every agent sees all others (exit 1 on timeout)')
    .option('--timeout-ms <ms>', 'with --exit-when-converged: give up after this long', '60000')
    .option('--json', 'print one JSON summary line instead of progress')
    .option('--log-level <level>', 'log level of the agents', 'warn')
    .action(async (opts: Parameters<typeof simCommand>[0]) => { code = await simCommand(opts) })

  try {
    await program.parseAsync(argv, { from: 'user' })
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT_OK : EXIT_CONFIG
    }
    throw err
  }
  return code
}
