/**
 * The docs stay true to the code: the reference in docs/reference/ is what the code generates
 * (`npm run docs`), the README is a front page of at most 15 KB whose links all lead somewhere,
 * and no product doc tells the project's history (issue numbers, work logs, dates, commit hashes).
 */
import { existsSync } from 'node:fs'
import { readdir, readFile, stat } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { references } from './docs/reference.js'

const ROOT = new URL('..', import.meta.url).pathname

async function markdown(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { recursive: true })
  return entries.filter(e => e.endsWith('.md')).map(e => join(dir, e))
}

describe('docs', () => {
  it('docs/reference/ is what the code says (run `npm run docs` after changing options, commands, metrics or the OpenAPI file)', async () => {
    for (const [path, text] of Object.entries(await references())) {
      expect(existsSync(join(ROOT, path)), `${path} is missing`).toBe(true)
      expect(await readFile(join(ROOT, path), 'utf8'), `${path} differs from the code`).toBe(text)
    }
  })

  it('the README is a front page: at most 15 KB, the two quick-start commands, a library example, links to the docs', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
    expect((await stat(join(ROOT, 'README.md'))).size).toBeLessThanOrEqual(15 * 1024)
    expect(readme).toContain('npm install && npm start')
    expect(readme).toContain('npm test')
    // The example is test/docs/example.ts, which the type check compiles: the two must not drift.
    const example = (await readFile(join(ROOT, 'test/docs/example.ts'), 'utf8')).split('\n').slice(1).join('\n').trim()
    expect(readme).toContain('```ts\n' + example.replace("'../../src/index.js'", "'conclave'") + '\n```')
    expect(example.split('\n').length).toBeLessThanOrEqual(25)
    for (const dir of ['docs/concepts/', 'docs/reference/', 'docs/operations/', 'docs/specs/', 'docs/decisions/']) {
      expect(readme).toContain(dir)
    }
  })

  it('every relative link in the README and docs/ leads to a file that exists', async () => {
    const files = ['README.md', 'CHANGELOG.md', ...(await markdown('docs'))]
    const broken: string[] = []
    for (const file of files) {
      const text = await readFile(join(ROOT, file), 'utf8')
      for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1] as string
        if (/^[a-z]+:/.test(target)) continue
        if (!existsSync(join(ROOT, dirname(file), target))) broken.push(`${file} → ${target}`)
      }
    }
    expect(broken).toEqual([])
  })

  it('docs/benchmarks.md holds only what the benchmarks generate: each section between its markers', async () => {
    const text = await readFile(join(ROOT, 'docs/benchmarks.md'), 'utf8')
    const outside = text.replace(/<!-- ([a-z0-9-]+):start -->[\s\S]*?<!-- \1:end -->/g, '').trim()
    // The title and the one paragraph the writer puts above the first section.
    expect(outside.split('\n').filter(l => l.trim() !== '')).toHaveLength(2)
    expect(text).toMatch(/<!-- fanout:start -->/)
  })

  it('product docs, CLI help and comments tell no history: no issue numbers, work logs, dates or commit hashes', async () => {
    const files = ['README.md', ...(await markdown('docs'))]
    const code = (await readdir(join(ROOT, 'src'), { recursive: true }))
      .filter(f => f.endsWith('.ts'))
      .map(f => join('src', f))
    const found: string[] = []
    for (const file of [...files, ...code]) {
      const lines = (await readFile(join(ROOT, file), 'utf8')).split('\n')
      lines.forEach((line, i) => {
        if (/issue #\d|\bsession \d|\b20\d\d-\d\d-\d\d\b|\bcommit [0-9a-f]{7,}\b/i.test(line)) {
          found.push(`${relative(ROOT, join(ROOT, file))}:${i + 1}: ${line.trim().slice(0, 100)}`)
        }
      })
    }
    expect(found).toEqual([])
  })
})
