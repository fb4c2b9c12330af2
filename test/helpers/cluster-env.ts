/**
 * The environment each namespace host runs with, taken from the manifests in docker/: what a
 * container of that service would get, with its volumes and secrets mapped to folders of the test.
 */
import { join } from 'node:path'
import { conclaveEnv, mapPaths, readYaml, renderSwarmTemplates, serviceEnv, type Env } from './manifests.js'

export type Manifest = 'compose' | 'swarm'

const FILES: Record<Manifest, string> = { compose: 'compose.yml', swarm: 'swarm-stack.yml' }

/**
 * CONCLAVE_* settings of `service` in the manifest for replica `slot`, as the container gets them.
 * `dir` stands in for the volumes (`/data`), `secrets` for `/run/secrets`; the name is what the
 * container's hostname would be.
 */
export async function serviceEnvFor(
  manifest: Manifest,
  service: string,
  slot: number,
  dir: string,
  name: string,
  secrets = join(dir, 'secrets')
): Promise<Env> {
  const file = await readYaml(FILES[manifest])
  const spec = file.services?.[service]
  if (spec === undefined) throw new Error(`${FILES[manifest]} has no service ${service}`)
  const env = conclaveEnv(renderSwarmTemplates(serviceEnv(spec), { slot }))
  // One data volume per replica (per slot folder under a shared node volume in Swarm).
  const data = join(dir, manifest, manifest === 'swarm' ? service : `${service}-${slot}`)
  return {
    ...mapPaths(env, { '/data': data, '/run/secrets': secrets }),
    // A container's host name, which is the default name.
    CONCLAVE_NAME: env.CONCLAVE_NAME ?? name
  }
}
