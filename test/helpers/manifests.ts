/**
 * Reading the deployment manifests in docker/ the way Docker, Swarm and Kubernetes read them, so
 * tests can run their environments through the real CLI.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse, parseAllDocuments } from 'yaml'
import { ROOT } from './paths.js'

export const DOCKER_DIR = join(ROOT, 'docker') + '/'

export type Env = Record<string, string>

export async function readYaml<T = any>(name: string): Promise<T> {
  // Compose files use YAML 1.1 merge keys (<<: *anchor).
  return parse(await readFile(`${DOCKER_DIR}${name}`, 'utf8'), { merge: true }) as T
}

export async function readYamlDocuments(name: string): Promise<any[]> {
  return parseAllDocuments(await readFile(`${DOCKER_DIR}${name}`, 'utf8')).map(d => d.toJS())
}

/** A Compose/Swarm service's `environment` (map or `KEY=value` list) as a map of strings. */
export function serviceEnv(service: { environment?: Record<string, unknown> | string[] }): Env {
  const env = service.environment ?? {}
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map(line => {
        const at = line.indexOf('=')
        return [line.slice(0, at), line.slice(at + 1)]
      })
    )
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]))
}

/** Swarm's service templates, as they render for one task. */
export function renderSwarmTemplates(env: Env, task: { slot: number }): Env {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replaceAll('{{.Task.Slot}}', String(task.slot))]))
}

/** A Kubernetes container's env for one pod: `valueFrom` field refs and `$(VAR)` expansion. */
type SecretKeyRef = { name: string; key: string; optional?: boolean }

/**
 * A pod's environment as Kubernetes would give it: fieldRefs from `pod`, secretKeyRefs from
 * `secrets` (`<secret>/<key>` → value; an optional one that is missing is left out).
 */
export function podEnv(
  container: {
    env?: Array<{
      name: string
      value?: string
      valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: SecretKeyRef }
    }>
  },
  pod: { name: string; ip: string },
  secrets: Record<string, string> = {}
): Env {
  const fields: Record<string, string> = { 'metadata.name': pod.name, 'status.podIP': pod.ip }
  const env: Env = {}
  for (const item of container.env ?? []) {
    const ref = item.valueFrom?.secretKeyRef
    if (ref !== undefined) {
      const value = secrets[`${ref.name}/${ref.key}`]
      if (value === undefined && ref.optional !== true) throw new Error(`secret ${ref.name}/${ref.key} is missing`)
      if (value !== undefined) env[item.name] = value
    } else if (item.valueFrom?.fieldRef !== undefined) {
      const value = fields[item.valueFrom.fieldRef.fieldPath]
      if (value === undefined) throw new Error(`unsupported fieldRef ${item.valueFrom.fieldRef.fieldPath}`)
      env[item.name] = value
    } else {
      // Kubernetes expands $(VAR) from variables defined earlier in the list.
      env[item.name] = (item.value ?? '').replace(
        /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
        (whole, name: string) => env[name] ?? whole
      )
    }
  }
  return env
}

/** Only the CONCLAVE_* variables. */
export function conclaveEnv(env: Env): Env {
  return Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('CONCLAVE_')))
}

/** Rewrite container paths (mount targets) to host folders in the path-valued settings. */
export function mapPaths(env: Env, mounts: Record<string, string>): Env {
  const targets = Object.keys(mounts).sort((a, b) => b.length - a.length)
  const mapOne = (value: string): string => {
    const target = targets.find(t => value === t || value.startsWith(`${t}/`))
    return target === undefined ? value : `${mounts[target] as string}${value.slice(target.length)}`
  }
  const out = { ...env }
  for (const key of ['CONCLAVE_DATA_DIR', 'CONCLAVE_IDENTITY']) if (out[key] !== undefined) out[key] = mapOne(out[key])
  if (out.CONCLAVE_CREDENTIALS !== undefined) {
    out.CONCLAVE_CREDENTIALS = out.CONCLAVE_CREDENTIALS.split(',')
      .map(p => mapOne(p.trim()))
      .join(',')
  }
  return out
}

/** The port of a `host:port` or of a `/ip4/…/tcp/<port>` multiaddr. */
export function portOf(value: string): number {
  const tcp = /\/tcp\/(\d+)/.exec(value)
  if (tcp !== null) return Number(tcp[1])
  return Number(value.slice(value.lastIndexOf(':') + 1))
}

/** Instructions of a Dockerfile (continuation lines joined), e.g. `['ENV', 'A=1 B=2']`. */
export function dockerfileInstructions(text: string): Array<[string, string]> {
  const joined = text.replace(/\\\n/g, ' ')
  const out: Array<[string, string]> = []
  for (const raw of joined.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const at = line.search(/\s/)
    out.push([line.slice(0, at).toUpperCase(), line.slice(at + 1).trim()])
  }
  return out
}
