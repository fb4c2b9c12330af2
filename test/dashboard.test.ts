/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core. Five agents; it
 * shows nothing without a token and signs in with a pasted one or a one-time link; the page
 * draws all five peers, opens a council through its form and shows it active
 * with its roster, submits a task and shows it done, and shows a killed agent as dead, all live
 * from the event stream. Screenshots go to test-artifacts/.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Agent } from '../src/agent/index.js'
import { Sim } from '../src/sim/index.js'
import { launchChromium } from './helpers/browser.js'
import { ROOT } from './helpers/paths.js'
import { waitFor } from './helpers/wait.js'

const ARTIFACTS = join(ROOT, 'test-artifacts')
const roles = (i: number): string[] =>
  [['tpm'], ['senior-software-architect'], ['coder'], ['tester'], ['reviewer']][i] ?? []

describe('dashboard in Chromium', () => {
  let sim: Sim
  let browser: Browser
  let page: Page
  const consoleErrors: string[] = []

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true })
    sim = await Sim.start({ agents: 5, roles, overrides: { heartbeatMs: 300, deadAfterMs: 1_500, pingTimeoutMs: 500 } })
    await waitFor(() => sim.convergedCount() === 5, {
      timeoutMs: 60_000,
      message: () => `converged ${sim.convergedCount()}/5`
    })
    browser = (await launchChromium()).browser
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    page.on('console', msg => {
      if (msg.type() === 'error') consoleErrors.push(msg.text())
    })
    page.on('pageerror', err => {
      consoleErrors.push(err.message)
    })
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await sim?.stop()
  })

  it('shows nothing without a token, refuses a wrong one, and signs in with a pasted token', async () => {
    const agent = sim.agents[1] as Agent
    const other = await browser.newPage()
    const res = await other.goto(`${agent.url}/`)
    const csp = res?.headers()['content-security-policy'] ?? ''
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).toMatch(/script-src 'sha256-[^']+'(;|$)/)
    expect(csp).not.toContain('unsafe-inline')
    expect(res?.headers()['x-frame-options']).toBe('DENY')
    await other.locator('#login-form').waitFor({ state: 'visible', timeout: 10_000 })
    expect(await other.locator('#app').isHidden()).toBe(true)
    expect(await other.locator('#peers tbody tr').count()).toBe(0)
    expect(await other.locator('#self').textContent()).toBe('…')
    await other.fill('#login-form input[name=token]', 'not-a-token-at-all-but-long-enough-xxxxxxxx')
    await other.click('#login-form button')
    await other.locator('#login-error', { hasText: 'invalid token' }).waitFor({ timeout: 10_000 })
    expect(await other.locator('#peers tbody tr').count()).toBe(0)
    await other.fill('#login-form input[name=token]', agent.apiToken)
    await other.click('#login-form button')
    await other.locator('#live[data-live="true"]').waitFor({ timeout: 20_000 })
    await waitFor(async () => (await other.locator('#peers tbody tr').count()) === 4, {
      timeoutMs: 20_000,
      message: 'peers not listed after sign-in'
    })
    // The token is kept for the tab: a reload stays signed in.
    await other.reload()
    await other.locator('#live[data-live="true"]').waitFor({ timeout: 20_000 })
    await other.close()
  })

  it('draws the mesh, opens a council and runs a task through its forms, and shows a killed agent dead', async () => {
    const agent = sim.agents[0] as Agent
    // The address `npm start` prints signs in once: the same link a second time does not.
    const link = agent.loginUrl()
    const reused = await browser.newPage()
    await page.goto(link)
    await page.locator('#live[data-live="true"]').waitFor({ timeout: 20_000 })
    expect(page.url()).not.toContain('login=')
    await reused.goto(link)
    await reused
      .locator('#login-error', { hasText: 'login code unknown, used or expired' })
      .waitFor({ timeout: 10_000 })
    await reused.close()
    // Five peers drawn: this agent and the four others, all alive.
    await waitFor(async () => (await page.locator('#graph g.peer[data-state="alive"]').count()) === 5, {
      timeoutMs: 30_000,
      message: 'five alive peers not drawn'
    })
    expect(await page.locator('#graph line.edge').count()).toBeGreaterThan(0)
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-1-mesh.png'), fullPage: true })

    await page.fill('#open-council input[name=project]', 'browser')
    await page.fill('#open-council input[name=core]', 'tpm,senior-software-architect')
    await page.fill('#open-council input[name=optional]', 'coder')
    await page.click('#open-council button')
    await page.locator('#open-result', { hasText: 'opened' }).waitFor({ timeout: 10_000 })
    const row = page.locator('#councils tr[data-state="active"]', { hasText: 'browser' })
    await row.waitFor({ timeout: 30_000 })
    await waitFor(async () => (await row.locator('.roster [data-role]').count()) === 3, {
      timeoutMs: 30_000,
      message: 'roster of three not shown'
    })
    const id = (await row.getAttribute('data-council-id')) as string
    const roster = agent.councils.get(id)?.roster ?? []
    for (const seat of roster) {
      const name = sim.agents.find(a => a.peerId === seat.peerId)?.config.name as string
      expect(await row.locator(`[data-role="${seat.role}"]`).textContent()).toBe(`${seat.role}: ${name}`)
    }
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-2-council.png'), fullPage: true })

    await page.selectOption('#submit-task select[name=council]', id)
    await page.selectOption('#submit-task select[name=role]', 'coder')
    await page.fill('#submit-task textarea[name=input]', '{"workMs": 20}')
    await page.click('#submit-task button')
    await page.locator('#task-result', { hasText: 'submitted' }).waitFor({ timeout: 10_000 })
    await page.locator('#tasks tr[data-state="done"]').waitFor({ timeout: 30_000 })
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-3-task.png'), fullPage: true })

    const victim = sim.agents[4] as Agent
    await sim.crashAgent(victim)
    await page.locator(`#graph g.peer[data-peer-id="${victim.peerId}"][data-state="dead"]`).waitFor({ timeout: 30_000 })
    expect(await page.locator(`#peers tr[data-peer-id="${victim.peerId}"]`).getAttribute('data-state')).toBe('dead')
    expect(
      await page.locator('#events li[data-type="member"]', { hasText: `${victim.config.name} → dead` }).count()
    ).toBeGreaterThan(0)
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-4-dead.png'), fullPage: true })
    // Refused requests of the sign-in checks are logged by the browser as 401s; nothing else may be.
    expect(consoleErrors.filter(e => !e.includes('401'))).toEqual([])
  })
})
