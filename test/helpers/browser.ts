/**
 * The Chromium the browser tests drive: `CHROMIUM_PATH`, else the system's (`/usr/bin/chromium`,
 * Debian's package), else the one that `npm install` brings (`@sparticuz/chromium`, unpacked into
 * the temporary folder on first use). `CONCLAVE_TEST_CHROMIUM=packaged` picks the packaged one
 * even where the system has its own.
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

const SYSTEM = '/usr/bin/chromium'
/** Chromium must not try to reach anything but the agent: the machine's network is closed. */
const QUIET = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

export async function launchChromium(): Promise<{ browser: Browser; which: string }> {
  const given = process.env.CHROMIUM_PATH
  if (process.env.CONCLAVE_TEST_CHROMIUM !== 'packaged' && (given !== undefined || existsSync(SYSTEM))) {
    const executablePath = given ?? SYSTEM
    return { browser: await chromium.launch({ executablePath, headless: true, args: QUIET }), which: executablePath }
  }
  const packaged = (await import('@sparticuz/chromium')).default
  const executablePath = await packaged.executablePath()
  // The packaged build runs headless, rendering with SwiftShader. (With --single-process, closing
  // one page closed the browser.)
  const args = [...QUIET, '--no-zygote', '--headless=shell', '--use-angle=swiftshader']
  return {
    browser: await chromium.launch({ executablePath, headless: true, args }),
    which: `@sparticuz/chromium (${executablePath})`
  }
}
