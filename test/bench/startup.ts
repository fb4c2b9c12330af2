/**
 * `npm run bench:startup`: what `conclave start` costs before the agent serves. One agent on
 * loopback (no mDNS, no peers) is started several times; for each start, the CPU time of the
 * process and its resident memory when it logs "agent started", and the modules it loaded by then.
 * `conclave --version` is measured the same way: what every other command pays before it runs.
 *
 *   npm run bench:startup                      this build, 5 starts
 *   npm run bench:startup -- --compare <dir>   also another build's dist directory, side by side
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'
import { environment, median, writeSection } from './report.js'

const out = (line: string): void => {
  process.stdout.write(line + '\n')
}
const argv = process.argv.slice(2)
const compareAt = argv.indexOf('--compare')
const RUNS = 5
const WRITE = !argv.includes('--no-write')
const here = resolvePath(fileURLToPath(new URL('../..', import.meta.url)))
const builds: Array<{ label: string; dir: string }> = [{ label: 'this build', dir: here }]
if (compareAt !== -1) {
  const dir = argv[compareAt + 1]
  if (dir === undefined) {
    process.stderr.write('--compare: expected the dist directory of another build\n')
    process.exit(2)
  }
  builds.push({ label: `build in ${dir}`, dir: resolvePath(dir) })
}

interface Sample {
  cpuMs: number
  rssMb: number
  modules: number
}

/** A module loader hook that appends every URL it loads to `$BENCH_LOAD_LOG`. */
async function writeHook(dir: string): Promise<string> {
  await writeFile(
    join(dir, 'hook.mjs'),
    `import { appendFileSync } from 'node:fs'
export async function load(url, context, nextLoad) {
  appendFileSync(process.env.BENCH_LOAD_LOG, url + '\\n')
  return nextLoad(url, context)
}
`
  )
  const register = join(dir, 'register.mjs')
  await writeFile(register, `import { register } from 'node:module'\nregister('./hook.mjs', import.meta.url)\n`)
  return register
}

async function cpuAndRss(pid: number): Promise<{ cpuMs: number; rssMb: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? []
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return {
    cpuMs: (Number(stat[11]) + Number(stat[12])) * 10,
    rssMb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
  }
}

/** Run the CLI with `args` until `ready` matches its output (or it exits), and sample it then. */
async function sample(distRoot: string, args: string[], ready: RegExp, work: string): Promise<Sample> {
  const register = await writeHook(work)
  const log = join(work, `loads-${Date.now()}-${Math.random()}.txt`)
  await writeFile(log, '')
  const child = spawn(process.execPath, ['--import', register, join(distRoot, 'src/cli/bin.js'), ...args], {
    env: { ...process.env, BENCH_LOAD_LOG: log },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  try {
    let measured: { cpuMs: number; rssMb: number } | undefined
    await new Promise<void>((resolve, reject) => {
      let text = ''
      const onData = (d: Buffer): void => {
        text += d.toString()
        if (measured === undefined && ready.test(text) && child.pid !== undefined) {
          cpuAndRss(child.pid).then(m => {
            measured = m
            resolve()
          }, reject)
        }
      }
      child.stdout.on('data', onData)
      child.stderr.on('data', onData)
      child.once('exit', code => {
        if (measured === undefined) reject(new Error(`exited with ${code} before it was ready: ${text.slice(-400)}`))
      })
    })
    const modules = (await readFile(log, 'utf8')).split('\n').filter(l => l !== '').length
    return { ...(measured as { cpuMs: number; rssMb: number }), modules }
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    }
  }
}

/** Modules `conclave --version` loads: what every command that runs no agent pays first. */
async function versionModules(distRoot: string, work: string): Promise<number> {
  const register = await writeHook(work)
  const log = join(work, `loads-version-${Date.now()}.txt`)
  await writeFile(log, '')
  const child = spawn(process.execPath, ['--import', register, join(distRoot, 'src/cli/bin.js'), '--version'], {
    env: { ...process.env, BENCH_LOAD_LOG: log },
    stdio: ['ignore', 'ignore', 'ignore']
  })
  await new Promise(resolve => child.once('exit', resolve))
  return (await readFile(log, 'utf8')).split('\n').filter(l => l !== '').length
}

const rows: string[] = []
for (const build of builds) {
  const starts: Sample[] = []
  const versions: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const work = await mkdtemp(join(tmpdir(), 'conclave-startup-'))
    try {
      starts.push(
        await sample(
          build.dir,
          [
            'start',
            '--data-dir',
            join(work, 'data'),
            '--listen',
            '/ip4/127.0.0.1/tcp/0',
            '--http',
            '127.0.0.1:0',
            '--mdns',
            'false',
            '--log-level',
            'info'
          ],
          /agent started/,
          work
        )
      )
      versions.push(await versionModules(build.dir, work))
    } finally {
      await rm(work, { recursive: true, force: true })
    }
  }
  const med = (xs: Sample[], k: keyof Sample): number => median(xs.map(x => x[k]))
  const row = `| ${build.label} | ${med(starts, 'cpuMs').toFixed(0)} | ${med(starts, 'rssMb').toFixed(0)} | ${med(starts, 'modules')} | ${median(versions)} |`
  rows.push(row)
  out(row)
}

if (WRITE) {
  await writeSection(
    'startup',
    `## Start-up

Command: \`npm run bench:startup\` (${environment()}). \`conclave start\` of one agent on loopback (no mDNS, no peers, open tenant), ${RUNS} times; medians. CPU and RSS are the process's when it logs "agent started" (listening, API served); modules are those loaded by then. The last column is what \`conclave --version\` loads, as every command that does not run an agent pays before it starts.

| build | CPU to started, ms | RSS, MB | modules loaded | modules, \`conclave --version\` |
|---|---|---|---|---|
${rows.join('\n')}`
  )
}
process.exit(0)
