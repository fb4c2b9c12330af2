/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4): every line must be a
 * `# HELP`/`# TYPE` comment or `name{label="value",…} number`, every sample must belong to a
 * declared family, and histogram buckets must be cumulative. Throws naming the first bad line.
 */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}
export interface Family {
  name: string
  type: string
  help: string
  samples: Sample[]
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/gy

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {}
  LABEL.lastIndex = 0
  let consumed = 0
  let m: RegExpExecArray | null
  while ((m = LABEL.exec(text)) !== null) {
    labels[m[1] as string] = (m[2] as string).replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
    consumed = LABEL.lastIndex
  }
  if (consumed !== text.length) throw new Error(`malformed labels: ${line}`)
  return labels
}

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const familyOf = (sample: string): Family | undefined => {
    for (const suffix of ['', '_bucket', '_sum', '_count', '_total', '_created']) {
      if (suffix !== '' && !sample.endsWith(suffix)) continue
      const f = families.get(sample.slice(0, sample.length - suffix.length))
      if (f !== undefined) return f
    }
    return undefined
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line)
      if (m === null) continue
      const f = families.get(m[2] as string) ?? { name: m[2] as string, type: 'untyped', help: '', samples: [] }
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3] as string)) {
          throw new Error(`bad type: ${line}`)
        }
        f.type = m[3] as string
      } else f.help = m[3] as string
      families.set(f.name, f)
      continue
    }
    const m = SAMPLE.exec(line)
    if (m === null) throw new Error(`malformed sample: ${line}`)
    const value = Number(m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : m[4])
    if (Number.isNaN(value) && m[4] !== 'NaN') throw new Error(`bad value: ${line}`)
    const family = familyOf(m[1] as string)
    if (family === undefined) throw new Error(`sample of an undeclared family: ${line}`)
    family.samples.push({ name: m[1] as string, labels: m[3] === undefined ? {} : parseLabels(m[3], line), value })
  }
  for (const f of families.values()) {
    if (f.type !== 'histogram') continue
    const series = new Map<string, number[]>()
    for (const s of f.samples.filter(s => s.name.endsWith('_bucket'))) {
      const { le, ...rest } = s.labels
      if (le === undefined) throw new Error(`${f.name}: a bucket without le`)
      const key = JSON.stringify(rest)
      series.set(key, [...(series.get(key) ?? []), s.value])
    }
    for (const [key, counts] of series) {
      for (let i = 1; i < counts.length; i++) {
        if ((counts[i] as number) < (counts[i - 1] as number)) {
          throw new Error(`${f.name}${key}: buckets are not cumulative`)
        }
      }
    }
  }
  return families
}
