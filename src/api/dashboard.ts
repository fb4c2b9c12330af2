/**
 * The dashboard every agent serves at `/`: the mesh as this agent sees it, live from the event
 * stream. One self-contained page (no CDN, no build step): operators run it on closed networks.
 * It asks for a token once (or takes a one-time login link, `/#login=<code>`), keeps it for the
 * tab, and sends it with every request; the event stream opens with a one-time ticket.
 */
import { createHash } from 'node:crypto'

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Conclave</title>
<link rel="icon" href="data:,">
<style>
  :root { --alive: #2e9d5b; --suspect: #e0a526; --dead: #d1453b; --left: #8a8f98; --ink: #1d232b; --muted: #6b7380; --line: #dde1e6; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--ink); background: #f6f7f9; }
  header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1rem; background: var(--ink); color: #fff; flex-wrap: wrap; }
  header h1 { font-size: 1.1rem; margin: 0; }
  header .muted { color: #b8bec8; }
  main { display: grid; grid-template-columns: minmax(420px, 1.1fr) 1fr; gap: 1rem; padding: 1rem; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; min-width: 0; }
  h2 { font-size: 1rem; margin: 0 0 .5rem; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: .25rem .4rem; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { color: var(--muted); font-weight: 500; }
  .badge { display: inline-block; padding: 0 .45rem; border-radius: 9px; color: #fff; font-size: 12px; }
  .alive, .active, .done { background: var(--alive); } .suspect, .forming, .degraded, .queued, .running { background: var(--suspect); }
  .dead, .failed { background: var(--dead); } .left, .dissolved { background: var(--left); }
  .mono { font-family: ui-monospace, monospace; font-size: 12px; }
  svg { width: 100%; height: auto; background: #fbfcfd; border: 1px solid var(--line); border-radius: 4px; }
  svg .edge { stroke: #9aa3ae; stroke-width: 1.2; }
  svg text { font-size: 11px; fill: var(--ink); }
  svg .roles { fill: var(--muted); font-size: 10px; }
  form { display: flex; gap: .4rem; flex-wrap: wrap; margin-top: .6rem; align-items: center; }
  input, select, textarea, button { font: inherit; padding: .25rem .4rem; }
  textarea { width: 100%; min-height: 2.2rem; }
  .result { color: var(--muted); margin-left: .4rem; }
  .error { color: var(--dead); }
  #events { list-style: none; padding: 0; margin: 0; max-height: 22rem; overflow: auto; }
  #events li { padding: .15rem 0; border-bottom: 1px solid var(--line); }
  #events time { color: var(--muted); margin-right: .4rem; }
  .spaced { margin-top: 1rem; }
  #login { max-width: 34rem; margin: 3rem auto; }
  #login input { flex: 1; min-width: 16rem; }
  [hidden] { display: none !important; }
  @media (max-width: 900px) { main { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header>
  <h1>Conclave</h1>
  <span id="self" class="muted">…</span>
  <label>Tenant <select id="tenant"><option value="">all</option></select></label>
  <span id="live" data-live="false" class="muted">connecting…</span>
</header>
<section id="login" hidden>
  <h2>Sign in</h2>
  <p>Paste an API token: the agent's operator token (<code>&lt;data dir&gt;/api.token</code>) or a tenant token (<code>conclave tenant token</code>). It is kept for this tab only.</p>
  <form id="login-form">
    <input name="token" type="password" autocomplete="off" placeholder="token" required>
    <button type="submit">Sign in</button>
  </form>
  <p class="error" id="login-error"></p>
</section>
<main id="app" hidden>
  <section id="mesh">
    <h2>Peers <span id="peer-count" class="muted"></span></h2>
    <svg id="graph" viewBox="0 0 640 440" role="img" aria-label="peers and connections"></svg>
    <table id="peers"><thead><tr><th>name</th><th>state</th><th>roles</th><th>tenant</th><th>seen</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Councils</h2>
    <table id="councils"><thead><tr><th>project</th><th>state</th><th>epoch</th><th>roster</th><th>tenant</th></tr></thead><tbody></tbody></table>
    <form id="open-council">
      <input name="project" placeholder="project" required>
      <input name="core" placeholder="core roles: tpm,senior-software-architect" required size="30">
      <input name="optional" placeholder="optional roles: coder">
      <button type="submit">Open council</button><span class="result" id="open-result"></span>
    </form>
    <h2 class="spaced">Tasks</h2>
    <table id="tasks"><thead><tr><th>council</th><th>role</th><th>state</th><th>holder</th><th>epoch</th><th>attempts</th></tr></thead><tbody></tbody></table>
    <form id="submit-task">
      <select name="council" required></select>
      <select name="role" required></select>
      <textarea name="input" placeholder='input: JSON or text, e.g. {"workMs": 50}'></textarea>
      <button type="submit">Submit task</button><span class="result" id="task-result"></span>
    </form>
    <h2 class="spaced">Recent events</h2>
    <ol id="events"></ol>
  </section>
</main>
<script>
(() => {
  const $ = sel => document.querySelector(sel)
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElementNS(attrs.svg ? 'http://www.w3.org/2000/svg' : 'http://www.w3.org/1999/xhtml', tag)
    for (const [k, v] of Object.entries(attrs)) if (k !== 'svg' && v !== undefined) node.setAttribute(k, v)
    for (const c of children) node.append(c)
    return node
  }
  const state = { self: null, peers: new Map(), councils: new Map(), tasks: new Map(), events: [] }
  const short = id => id ? id.slice(-6) : '-'
  const nameOf = id => id === state.self?.peerId ? state.self.name : (state.peers.get(id)?.name ?? short(id))
  const tenantShown = t => { const f = $('#tenant').value; return f === '' || f === t }
  const TOKEN_KEY = 'conclave.token'
  let stream = null
  const signOut = message => {
    sessionStorage.removeItem(TOKEN_KEY)
    if (stream !== null) { stream.close(); stream = null }
    $('#app').hidden = true
    $('#login').hidden = false
    $('#login-error').textContent = message ?? ''
  }
  const json = async (url, init = {}) => {
    const headers = { ...(init.headers ?? {}), authorization: 'Bearer ' + sessionStorage.getItem(TOKEN_KEY) }
    const res = await fetch(url, { ...init, headers })
    const body = await res.json().catch(() => ({}))
    if (res.status === 401) { signOut(body.error); throw new Error(body.error ?? 'not signed in') }
    if (!res.ok) throw new Error(body.error ?? ('HTTP ' + res.status))
    return body
  }

  let scheduled = false
  const render = () => { if (!scheduled) { scheduled = true; requestAnimationFrame(() => { scheduled = false; draw() }) } }

  function draw () {
    const self = state.self
    if (self === null) return
    $('#self').textContent = self.name + ' · ' + self.peerId
    const tenants = new Set([...self.tenants, ...[...state.peers.values()].map(p => p.tenant)])
    const select = $('#tenant')
    for (const t of tenants) if (![...select.options].some(o => o.value === t)) select.append(el('option', { value: t }, t))
    const peers = [...state.peers.values()].filter(p => tenantShown(p.tenant)).sort((a, b) => a.name.localeCompare(b.name))
    $('#peer-count').textContent = peers.filter(p => p.state === 'alive').length + ' of ' + peers.length + ' others alive'
    drawGraph(self, peers)
    $('#peers tbody').replaceChildren(...peers.map(p => el('tr', { 'data-peer-id': p.peerId, 'data-state': p.state },
      el('td', {}, p.name), el('td', {}, el('span', { class: 'badge ' + p.state }, p.state)), el('td', {}, p.roles.join(', ')),
      el('td', {}, p.tenant), el('td', {}, Math.round(p.lastSeenMs / 1000) + ' s'))))
    const councils = [...state.councils.values()].filter(c => tenantShown(c.tenant)).sort((a, b) => b.createdAt - a.createdAt)
    $('#councils tbody').replaceChildren(...councils.map(c => el('tr', { 'data-council-id': c.id, 'data-state': c.state, 'data-epoch': String(c.epoch) },
      el('td', { title: c.id }, c.project), el('td', {}, el('span', { class: 'badge ' + c.state }, c.state), c.reason ? el('div', { class: 'muted' }, c.reason) : ''),
      el('td', {}, String(c.epoch)), el('td', { class: 'roster' }, ...c.roster.map(s => el('div', { 'data-role': s.role }, s.role + ': ' + nameOf(s.peerId)))),
      el('td', {}, c.tenant))))
    const councilSelect = $('#submit-task select[name=council]')
    const chosen = councilSelect.value
    const open = councils.filter(c => c.state === 'active' || c.state === 'degraded')
    councilSelect.replaceChildren(...open.map(c => el('option', { value: c.id }, c.project + ' (' + short(c.id) + ')')))
    if (open.some(c => c.id === chosen)) councilSelect.value = chosen
    const roleSelect = $('#submit-task select[name=role]')
    const role = roleSelect.value
    const council = state.councils.get(councilSelect.value)
    const roles = council ? council.roster.map(s => s.role) : []
    roleSelect.replaceChildren(...roles.map(r => el('option', { value: r }, r)))
    if (roles.includes(role)) roleSelect.value = role
    const tasks = [...state.tasks.values()].filter(t => tenantShown(t.tenant))
    const inFlight = tasks.filter(t => t.state === 'queued' || t.state === 'running')
    const finished = tasks.filter(t => t.state === 'done' || t.state === 'failed').slice(-15)
    $('#tasks tbody').replaceChildren(...[...inFlight, ...finished].map(t => el('tr', { 'data-task-id': t.id, 'data-state': t.state },
      el('td', {}, state.councils.get(t.council)?.project ?? short(t.council)), el('td', {}, t.role),
      el('td', {}, el('span', { class: 'badge ' + t.state }, t.state), t.error ? el('div', { class: 'error' }, t.error) : ''),
      el('td', {}, t.holder ? nameOf(t.holder) : '-'), el('td', {}, String(t.epoch)), el('td', {}, String(t.attempts)))))
    $('#events').replaceChildren(...state.events.slice(-60).reverse().map(e => el('li', { 'data-type': e.type },
      el('time', {}, new Date(e.ts).toLocaleTimeString()), describe(e))))
  }

  function drawGraph (self, peers) {
    const svg = $('#graph')
    const cx = 320, cy = 220, r = Math.min(180, 60 + peers.length * 12)
    const at = new Map([[self.peerId, { x: cx, y: cy }]])
    peers.forEach((p, i) => {
      const a = (2 * Math.PI * i) / Math.max(1, peers.length) - Math.PI / 2
      at.set(p.peerId, { x: cx + r * Math.cos(a), y: cy + r * Math.sin(a) })
    })
    const edges = peers.filter(p => p.connected).map(p => {
      const a = at.get(self.peerId), b = at.get(p.peerId)
      return el('line', { svg: true, class: 'edge', 'data-to': p.peerId, x1: a.x, y1: a.y, x2: b.x, y2: b.y })
    })
    const node = (p, isSelf) => {
      const { x, y } = at.get(p.peerId)
      return el('g', { svg: true, class: 'peer' + (isSelf ? ' self' : ''), 'data-peer-id': p.peerId, 'data-state': p.state, 'data-name': p.name },
        el('circle', { svg: true, cx: x, cy: y, r: isSelf ? 14 : 10, fill: 'var(--' + p.state + ')', stroke: isSelf ? '#1d232b' : '#fff', 'stroke-width': 2 }),
        el('text', { svg: true, x: x, y: y + (isSelf ? 28 : 23), 'text-anchor': 'middle' }, p.name),
        el('text', { svg: true, class: 'roles', x: x, y: y + (isSelf ? 40 : 35), 'text-anchor': 'middle' }, p.roles.join(', ')))
    }
    svg.replaceChildren(...edges, node({ ...self, state: 'alive' }, true), ...peers.map(p => node(p, false)))
  }

  function describe (e) {
    const d = e.data
    switch (e.type) {
      case 'member': return (d.name ?? short(d.peerId)) + ' → ' + d.state + ' (' + d.reason + ')'
      case 'council': return 'council ' + d.project + ' ' + d.state + ' @' + d.epoch + (d.roster.length ? ': ' + d.roster.map(s => s.role + '=' + nameOf(s.peerId)).join(', ') : '')
      case 'task': return 'task ' + d.role + ' ' + d.state + (d.holder ? ' at ' + nameOf(d.holder) : '') + (d.error ? ': ' + d.error : '')
      case 'rejected': return 'rejected on ' + d.channel + ': ' + d.reason
      default: return e.type
    }
  }

  function apply (e) {
    state.events.push(e)
    if (state.events.length > 500) state.events.splice(0, state.events.length - 500)
    const d = e.data
    if (e.type === 'member') {
      const p = state.peers.get(d.peerId)
      if (p) { p.state = d.state; p.lastSeenMs = 0 } else refreshPeers()
    } else if (e.type === 'council') {
      state.councils.set(d.id, d)
    } else if (e.type === 'task') {
      state.tasks.set(d.id, { ...(state.tasks.get(d.id) ?? {}), ...d })
    }
    render()
  }

  async function refreshPeers () {
    try {
      const peers = await json('/v1/peers')
      state.peers = new Map(peers.map(p => [p.peerId, p]))
      render()
    } catch {}
  }

  async function start () {
    state.self = await json('/v1/self')
    await refreshPeers()
    for (const c of await json('/v1/councils')) {
      state.councils.set(c.id, c)
      for (const t of await json('/v1/councils/' + encodeURIComponent(c.id) + '/tasks')) state.tasks.set(t.id, t)
    }
    render()
    await follow()
    // Connections and last-seen times are not events: refresh them now and then.
    refresher ??= setInterval(() => { if (sessionStorage.getItem(TOKEN_KEY) !== null) refreshPeers() }, 3000)
  }

  // EventSource cannot send a token: each connection opens with a one-time ticket, and resumes
  // from the last event seen.
  let lastEventId = ''
  let refresher
  async function follow () {
    const live = $('#live')
    const { ticket } = await json('/v1/events/tickets', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    stream = new EventSource('/v1/events?ticket=' + encodeURIComponent(ticket) + (lastEventId ? '&lastEventId=' + encodeURIComponent(lastEventId) : ''))
    stream.onopen = () => { live.textContent = 'live'; live.dataset.live = 'true' }
    stream.onerror = () => {
      live.textContent = 'reconnecting…'; live.dataset.live = 'false'
      if (stream !== null) stream.close()
      stream = null
      setTimeout(() => { if (sessionStorage.getItem(TOKEN_KEY) !== null) follow().catch(() => {}) }, 1000)
    }
    for (const type of ['member', 'council', 'task', 'rejected']) stream.addEventListener(type, m => { lastEventId = m.lastEventId; apply(JSON.parse(m.data)) })
    stream.addEventListener('gap', () => { refreshPeers() })
  }

  async function signIn () {
    const login = /^#login=([A-Za-z0-9_-]+)$/.exec(location.hash)
    if (login !== null) {
      history.replaceState(null, '', location.pathname)
      const res = await fetch('/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: login[1] }) })
      const body = await res.json().catch(() => ({}))
      if (res.ok) sessionStorage.setItem(TOKEN_KEY, body.token)
      else if (sessionStorage.getItem(TOKEN_KEY) === null) return signOut('This login link: ' + (body.error ?? 'refused') + '. Paste a token instead.')
    }
    if (sessionStorage.getItem(TOKEN_KEY) === null) return signOut()
    $('#login').hidden = true
    $('#app').hidden = false
    await start()
  }

  $('#login-form').addEventListener('submit', ev => {
    ev.preventDefault()
    sessionStorage.setItem(TOKEN_KEY, String(new FormData(ev.target).get('token') ?? '').trim())
    ev.target.reset()
    signIn().catch(err => { $('#live').textContent = 'error: ' + err.message })
  })

  $('#tenant').addEventListener('change', render)
  $('#submit-task select[name=council]').addEventListener('change', render)
  $('#open-council').addEventListener('submit', async ev => {
    ev.preventDefault()
    const f = new FormData(ev.target)
    const list = v => String(v ?? '').split(',').map(s => s.trim()).filter(Boolean)
    const body = { project: String(f.get('project')).trim(), coreRoles: list(f.get('core')), optionalRoles: list(f.get('optional')) }
    const tenant = $('#tenant').value
    if (tenant !== '') body.tenant = tenant
    const out = $('#open-result')
    try {
      const { id } = await json('/v1/councils', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      out.className = 'result'; out.textContent = 'opened ' + id
    } catch (err) { out.className = 'result error'; out.textContent = err.message }
  })
  $('#submit-task').addEventListener('submit', async ev => {
    ev.preventDefault()
    const f = new FormData(ev.target)
    const text = String(f.get('input') ?? '').trim()
    let input = text
    try { input = text === '' ? {} : JSON.parse(text) } catch {}
    const out = $('#task-result')
    try {
      const council = String(f.get('council'))
      const { taskId } = await json('/v1/councils/' + encodeURIComponent(council) + '/tasks', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ role: f.get('role'), input }) })
      out.className = 'result'; out.textContent = 'submitted ' + taskId
    } catch (err) { out.className = 'result error'; out.textContent = err.message }
  })
  signIn().catch(err => { $('#live').textContent = 'error: ' + err.message })
})()
</script>
</body>
</html>
`

const inline = (tag: string): string => {
  const open = DASHBOARD_HTML.indexOf(`<${tag}>`) + tag.length + 2
  return DASHBOARD_HTML.slice(open, DASHBOARD_HTML.indexOf(`</${tag}>`, open))
}
const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`

/** The dashboard's Content-Security-Policy: its own inline script and style, its own API, no frames. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${hash(inline('script'))}`,
  `style-src ${hash(inline('style'))}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join('; ')
