/** `npm run docs`: write the generated reference documentation (see reference.ts). */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { references } from './reference.js'

for (const [path, text] of Object.entries(await references())) {
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, text)
  process.stdout.write(`wrote ${path}\n`)
}
