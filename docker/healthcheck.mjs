// Container health check without curl: GET /health on the HTTP address CONCLAVE_HTTP names
// (a wildcard host is reached through loopback). Exit 0 when healthy, 1 otherwise.
const http = process.env.CONCLAVE_HTTP ?? '0.0.0.0:8080'
const at = http.lastIndexOf(':')
const host = http.slice(0, at)
const port = http.slice(at + 1)
const target = ['', '0.0.0.0', '::', '[::]'].includes(host) ? '127.0.0.1' : host
try {
  const res = await fetch(`http://${target}:${port}/health`, { signal: AbortSignal.timeout(2_500) })
  process.exit(res.ok ? 0 : 1)
} catch (err) {
  process.stderr.write(`healthcheck: ${err.cause?.code ?? err.message}\n`)
  process.exit(1)
}
