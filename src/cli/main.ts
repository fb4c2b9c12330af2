import { Command, CommanderError } from 'commander'
import { VERSION } from '../version.js'
import type { councilListCommand, councilOpenCommand } from './commands/council.js'
import type { memoryExportCommand, memoryImportCommand } from './commands/memory.js'
import type { taskRunCommand } from './commands/task.js'
import type { simCommand } from './commands/sim.js'
import type { simulateCommand } from './commands/simulate.js'
import { SCENARIOS } from '../simulate/scenario-names.js'
import type { statusCommand } from './commands/status.js'
import type {
  tenantCreateCommand,
  tenantIssueCommand,
  tenantPublishCommand,
  tenantRotateCommand,
  tenantTokenCommand
} from './commands/tenant.js'
import { EXIT_CONFIG, EXIT_OK } from './exit.js'
import { addAgentOptions, agentFlags } from './options.js'

/**
 * The flags of a command that talks to a running agent: its API and the token to send (the
 * `tenant` commands call the token flag --api-token, their --token names tokens to revoke).
 */
function reachesAgent(
  command: Command,
  tokenFlag: '--token' | '--api-token',
  api = 'agent API base URL (default: from CONCLAVE_HTTP, else http://127.0.0.1:8080)'
): Command {
  return command
    .option('--api <url>', api)
    .option(`${tokenFlag} <token>`, 'API token [CONCLAVE_API_TOKEN] (default: <data dir>/api.token)')
    .option('--data-dir <dir>', "the agent's data dir, for its api.token [CONCLAVE_DATA_DIR]")
}

/**
 * The `conclave` program: every command with its flags and help. Each command's action reports
 * its exit code to `exit`. Also read by the generator of the CLI reference.
 */
export function cliProgram(exit: (code: number) => void = () => {}): Command {
  let code = EXIT_OK
  const program = new Command('conclave')
    .description('Peer-to-peer mesh runtime for agents')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError()

  addAgentOptions(
    program.command('start').description('run one agent in the foreground (flags override CONCLAVE_* env)')
  ).action(async (opts: Record<string, unknown>) => {
    code = await (await import('./commands/start.js')).startCommand(agentFlags(opts))
  })

  addAgentOptions(
    program.command('config').description('validate and print the resolved configuration; exit 2 on error')
  ).action(async (opts: Record<string, unknown>) => {
    code = await (await import('./commands/config.js')).configCommand(agentFlags(opts))
  })

  program
    .command('keygen')
    .description('create an identity key and print its peer id')
    .option('--data-dir <dir>', 'write <dir>/identity.key [CONCLAVE_DATA_DIR]')
    .option('--out <file>', 'write the key to this file instead')
    .option('--force', 'replace an existing key (the peer id changes)')
    .action(async (opts: { dataDir?: string; out?: string; force?: boolean }) => {
      code = await (await import('./commands/keygen.js')).keygenCommand(opts)
    })

  program
    .command('id')
    .description('print the peer id of an existing identity key')
    .option('--identity <file>', 'the key file [CONCLAVE_IDENTITY]')
    .option('--data-dir <dir>', 'read <dir>/identity.key [CONCLAVE_DATA_DIR]')
    .action(async (opts: { dataDir?: string; identity?: string }) => {
      code = await (await import('./commands/keygen.js')).idCommand(opts)
    })

  reachesAgent(program.command('status').description('show the membership view of a running agent'), '--token')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: Parameters<typeof statusCommand>[0]) => {
      code = await (await import('./commands/status.js')).statusCommand(opts)
    })

  const council = program.command('council').description('councils of a running agent')
  reachesAgent(
    council.command('open').description('open a council: agents holding its roles claim them and agree on a roster'),
    '--token'
  )
    .option('--project <name>', 'project the council is for')
    .option('--core <roles>', 'core roles, comma-separated (all must be held for the council to be active)')
    .option('--optional <roles>', 'optional roles, comma-separated')
    .option('--claim-window-ms <ms>', 'how long core roles may wait for a claimant')
    .option('--ttl-ms <ms>', 'lifetime of the council')
    .option('--tenant <id>', 'tenant, when the agent belongs to several')
    .option('--wait', 'follow the council until it is active (exit 1 if it fails)')
    .option('--timeout-ms <ms>', 'with --wait: give up after this long', '60000')
    .action(async (opts: Parameters<typeof councilOpenCommand>[0]) => {
      code = await (await import('./commands/council.js')).councilOpenCommand(opts)
    })
  reachesAgent(council.command('list').description('councils and their rosters'), '--token')
    .option('--json', 'print JSON')
    .action(async (opts: Parameters<typeof councilListCommand>[0]) => {
      code = await (await import('./commands/council.js')).councilListCommand(opts)
    })

  const task = program.command('task').description('tasks in councils of a running agent')
  reachesAgent(
    task
      .command('run')
      .description('submit a task to the holder of a council role; waits for the result unless --no-wait'),
    '--token'
  )
    .option('--council <id>', 'council id (`conclave council list`)')
    .option('--role <role>', 'role whose holder runs the task')
    .option('--input <json>', 'task input: JSON, or plain text')
    .option('--id <taskId>', 'task id, to make a retried submission idempotent')
    .option('--timeout-ms <ms>', 'the task fails without a result after this long (default 300000)')
    .option('--no-wait', 'print the task id and return at once')
    .action(async (opts: Parameters<typeof taskRunCommand>[0]) => {
      code = await (await import('./commands/task.js')).taskRunCommand(opts)
    })

  const memory = program.command('memory').description('episode memory in a data dir: backup and restore')
  memory
    .command('export')
    .description('write every episode as JSON lines')
    .option('--out <file>', 'the .jsonl file to write')
    .option('--data-dir <dir>', 'data dir of the agent [CONCLAVE_DATA_DIR]')
    .option('--tenant <id>', "only this tenant's episodes")
    .action(async (opts: Parameters<typeof memoryExportCommand>[0]) => {
      code = await (await import('./commands/memory.js')).memoryExportCommand(opts)
    })
  memory
    .command('import')
    .description(
      'restore episodes from a JSON-lines backup (all or nothing; episodes already held are skipped, ones that differ from those held under their id refuse the import)'
    )
    .argument('<file>', 'the .jsonl file to read')
    .option('--data-dir <dir>', 'data dir of the agent [CONCLAVE_DATA_DIR]')
    .option('--tenant <id>', "only this tenant's episodes")
    .option('--create', 'make a new episode database when the data dir has none')
    .action(async (file: string, opts: Parameters<typeof memoryImportCommand>[1]) => {
      code = await (await import('./commands/memory.js')).memoryImportCommand(file, opts)
    })

  const tenant = program
    .command('tenant')
    .description('tenant authority: create tenants, issue and revoke credentials, rotate keys')
  tenant
    .command('create')
    .description('create a tenant authority (Ed25519 key and group key) in a 0600 file')
    .option('--id <tenant>', 'tenant id (a-z, 0-9, ".", "_", "-")')
    .option('--out <file>', 'tenant file to write (default <id>.tenant.json)')
    .option('--force', 'replace an existing tenant file')
    .action(async (opts: Parameters<typeof tenantCreateCommand>[0]) => {
      code = await (await import('./commands/tenant.js')).tenantCreateCommand(opts)
    })
  tenant
    .command('issue')
    .description('issue a credential binding a peer id to the tenant')
    .option('--tenant <file>', 'tenant file')
    .option('--peer <peerId>', "the agent's peer id (`conclave keygen` prints it)")
    .option('--roles <roles>', 'roles granted, comma-separated (default: every role)')
    .option('--ttl <duration>', 'validity, e.g. 30d, 12h (default 30d)')
    .option('--out <file>', 'credential file to write (mode 0600)')
    .action(async (opts: Parameters<typeof tenantIssueCommand>[0]) => {
      code = await (await import('./commands/tenant.js')).tenantIssueCommand(opts)
    })
  tenant
    .command('token')
    .description('issue an API token of the tenant (printed alone on stdout); every member verifies it offline')
    .option('--tenant <file>', 'tenant file')
    .option(
      '--scope <scope>',
      'read (views, memory, tasks, events), operate (also councils and tasks), admin (also tenant states)'
    )
    .option('--ttl <duration>', 'validity, e.g. 30d, 12h (default 30d)')
    .option('--name <name>', 'a label: who or what holds the token')
    .action(async (opts: Parameters<typeof tenantTokenCommand>[0]) => {
      code = await (await import('./commands/tenant.js')).tenantTokenCommand(opts)
    })
  reachesAgent(
    tenant
      .command('revoke')
      .description(
        'revoke peers or API tokens: a new key epoch revoked peers cannot read, and a signed state members enforce (with --api, handed to a running member, which gossips it)'
      ),
    '--api-token',
    'hand the state to the agent at this URL, which gossips it'
  )
    .option('--tenant <file>', 'tenant file')
    .option('--peer <peerIds>', 'peer ids to revoke, comma-separated')
    .option('--token <ids>', "API token ids to revoke, comma-separated (from the tenant file's tokens)")
    .option('--out <file>', 'state file to write (default <tenant>.state-<epoch>.json)')
    .action(async (opts: Parameters<typeof tenantRotateCommand>[0]) => {
      code = await (await import('./commands/tenant.js')).tenantRotateCommand(opts, true)
    })
  reachesAgent(
    tenant
      .command('rotate')
      .description(
        'rotate the group key: a new epoch sealed for every current member (with --api, handed to a running member)'
      ),
    '--api-token',
    'hand the state to the agent at this URL, which gossips it'
  )
    .option('--tenant <file>', 'tenant file')
    .option('--out <file>', 'state file to write (default <tenant>.state-<epoch>.json)')
    .action(async (opts: Parameters<typeof tenantRotateCommand>[0]) => {
      code = await (await import('./commands/tenant.js')).tenantRotateCommand(opts, false)
    })
  reachesAgent(
    tenant.command('publish').description('hand a state file from revoke/rotate to a running member'),
    '--api-token'
  )
    .option('--state <file>', 'state file')
    .action(async (opts: Parameters<typeof tenantPublishCommand>[0]) => {
      code = await (await import('./commands/tenant.js')).tenantPublishCommand(opts)
    })

  program
    .command('sim')
    .description('run N agents in this process on loopback (demos and tests)')
    .option('--agents <n>', 'number of agents', '5')
    .option('--http-base-port <port>', 'HTTP port of agent-0; the others count up (0 = free ports)', '8080')
    .option('--tenants <ids>', 'tenants to spread the agents over, each with an in-memory authority', 'demo')
    .option('--open', 'no credentials: every agent in the open default tenant')
    .option('--mdns', 'discover with mDNS instead of bootstrapping from agent-0')
    .option('--mdns-service-tag <tag>', 'mDNS service tag')
    .option('--exit-when-converged', 'stop once every agent sees all others (exit 1 on timeout)')
    .option('--timeout-ms <ms>', 'with --exit-when-converged: give up after this long', '60000')
    .option('--json', 'print one JSON summary line instead of progress')
    .option('--log-level <level>', 'log level of the agents', 'warn')
    .option(
      '--scenario <name>',
      'run a scripted scenario and exit: federation (two tenants, collaboration loops, replicated memory)'
    )
    .option('--iterations <n>', 'with --scenario federation: collaboration loops', '10')
    .action(async (opts: Parameters<typeof simCommand>[0]) => {
      code = await (await import('./commands/sim.js')).simCommand(opts)
    })

  program
    .command('simulate')
    .description(
      'run the protocol cores of N agents over a simulated network and clock, from a seed: replayable fault trials that check the safety properties (exit 1 when one is violated)'
    )
    .option('--agents <n>', 'number of agents', '9')
    .option('--seed <n>', 'seed of the run (default: a random one, printed)')
    .option('--scenario <name>', `what happens: ${SCENARIOS.join(', ')}`, 'membership')
    .option('--trials <k>', "trials, each from a seed derived from the run's", '1')
    .option('--latency <model>', 'lan (0.1-1 ms) or wan (20-150 ms with jitter)', 'lan')
    .option('--loss <p>', 'chance that a message is lost', '0')
    .option('--json', 'print one JSON object')
    .action(async (opts: Parameters<typeof simulateCommand>[0]) => {
      code = await (await import('./commands/simulate.js')).simulateCommand(opts)
    })

  // Every action sets `code`; it is handed on once the action finished.
  program.hook('postAction', () => {
    exit(code)
  })
  return program
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = EXIT_OK
  const program = cliProgram(c => {
    code = c
  })
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
