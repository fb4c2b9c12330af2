/** The README must stay true: every setting in the configuration table, every API route. */
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { OPTIONS } from '../src/config/index.js'

describe('README', () => {
  it('documents every CONCLAVE_* variable with its flag and default', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
    for (const o of OPTIONS) {
      const row = readme.split('\n').find(l => l.startsWith(`| \`${o.env}\` |`))
      expect(row, `${o.env} missing from the configuration table`).toBeDefined()
      expect(row).toContain(`\`--${o.flag}\``)
      if (o.default !== undefined && o.default !== '') expect(row).toContain(`\`${o.default}\``)
    }
    const documented = [...readme.matchAll(/^\| `(CONCLAVE_[A-Z_]+)` \|/gm)].map(m => m[1])
    expect(documented.sort()).toEqual(OPTIONS.map(o => o.env).sort())
  })

  it('gives the two quick-start commands', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
    expect(readme).toContain('npm install && npm start')
    expect(readme).toContain('npm test')
  })
})
