import { format } from 'node:util'
import type { ComponentLogger, Logger as Libp2pLogger } from '@libp2p/interface'
import type { Logger } from './index.js'

/** libp2p's printf codes (%p peer id, %a multiaddr, %b/%c/%e/%t) rendered with String(). */
const render = (formatter: unknown, args: unknown[]): string =>
  format(String(formatter).replace(/%[pabcet]/g, '%s'), ...args)

/**
 * libp2p's component logger on top of ours, so that one logger carries everything. libp2p's
 * routine chatter is `trace`, its errors (mostly failed dials and resets) `debug`.
 */
export function libp2pLogger(logger: Logger): ComponentLogger {
  const forComponent = (name: string): Libp2pLogger => {
    const child = logger.child({ component: name })
    const log = ((formatter: unknown, ...args: unknown[]) => {
      if (child.isLevelEnabled('trace')) child.trace(render(formatter, args))
    }) as Libp2pLogger
    log.error = (formatter: unknown, ...args: unknown[]) => {
      if (child.isLevelEnabled('debug')) child.debug(render(formatter, args))
    }
    log.trace = log
    log.enabled = logger.isLevelEnabled('trace')
    log.newScope = (scope: string) => forComponent(`${name}:${scope}`)
    return log
  }
  return { forComponent }
}
