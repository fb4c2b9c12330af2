/**
 * How the code hangs together: no import cycle between files, none between capability folders
 * (imports flow one way), every folder under src/ has an index.ts as its public face, and what
 * src/ throws is a named error class.
 */
import { readdir, readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import madge from 'madge'
import { describe, expect, it } from 'vitest'

const SRC = new URL('../src/', import.meta.url).pathname

async function graph(): Promise<Record<string, string[]>> {
  const result = await madge(SRC, {
    fileExtensions: ['ts'],
    tsConfig: new URL('../tsconfig.json', import.meta.url).pathname
  })
  return result.obj()
}

/** Folder-level edges: `a` imports something of `b`. */
function folders(files: Record<string, string[]>): Map<string, Set<string>> {
  const top = (f: string): string => (f.includes('/') ? (f.split('/')[0] as string) : f)
  const g = new Map<string, Set<string>>()
  for (const [file, deps] of Object.entries(files)) {
    for (const dep of deps) {
      const a = top(file)
      const b = top(dep)
      if (a !== b) g.set(a, (g.get(a) ?? new Set()).add(b))
    }
  }
  return g
}

function reaches(g: Map<string, Set<string>>, from: string, to: string): boolean {
  const seen = new Set<string>()
  const stack = [from]
  while (stack.length > 0) {
    const x = stack.pop() as string
    for (const y of g.get(x) ?? []) {
      if (y === to) return true
      if (!seen.has(y)) {
        seen.add(y)
        stack.push(y)
      }
    }
  }
  return false
}

describe('imports', () => {
  it('no cycle between files, nor between folders under src/', async () => {
    const files = await graph()
    expect(Object.keys(files).length).toBeGreaterThan(100)
    const cycles: string[] = []
    for (const [file, deps] of Object.entries(files)) for (const dep of deps) if (dep === file) cycles.push(file)
    const g = folders(files)
    for (const [a, targets] of g) for (const b of targets) if (reaches(g, b, a)) cycles.push(`${a} → ${b} → … → ${a}`)
    // File-level cycles show up as folder-level ones or within a folder: check those too.
    const within = (
      await madge(SRC, { fileExtensions: ['ts'], tsConfig: new URL('../tsconfig.json', import.meta.url).pathname })
    ).circular()
    expect([...cycles, ...within.map(c => c.join(' → '))]).toEqual([])
  }, 60_000)

  it('every folder under src/ has an index.ts', async () => {
    const dirs = (await readdir(SRC, { withFileTypes: true })).filter(d => d.isDirectory()).map(d => d.name)
    expect(dirs.length).toBeGreaterThan(10)
    expect(dirs.filter(d => !existsSync(join(SRC, d, 'index.ts')))).toEqual([])
  })
})

describe('errors', () => {
  it("src/ creates no plain Error: each failure has a named class (the dashboard's browser script aside)", async () => {
    const files = (await readdir(SRC, { recursive: true })).filter(
      f => f.endsWith('.ts') && f !== join('api', 'dashboard.ts')
    )
    expect(files.length).toBeGreaterThan(100)
    const plain: string[] = []
    for (const f of files) {
      const lines = (await readFile(join(SRC, f), 'utf8')).split('\n')
      lines.forEach((line, i) => {
        if (/\bnew Error\(/.test(line)) plain.push(`${f}:${i + 1}`)
      })
    }
    expect(plain).toEqual([])
  })
})
