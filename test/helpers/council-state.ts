/**
 * A council's internal state at each agent, one line per agent, for the failure messages of
 * council tests: who each agent thinks coordinates, what it promised and proposed, which members
 * it sees alive (with the incarnation it holds, when it last heard of each, and its membership
 * state since when), the claims it would assign seats from, and the proposals it follows. A stalled
 * council under CI load is diagnosed from this line, not re-run until it fails again.
 */
import type { Agent } from '../../src/agent/index.js'

interface Internals {
  councils: Map<
    string,
    {
      d: { tenant: string }
      state: string
      epoch: number
      coordinator?: string
      promised: number
      proposed: number
      retries: number
      pending?: { epoch: number; since: number }
      members: string[]
      roster: Array<{ role: string; peerId: string }>
      claims: Map<string, { peerId: string; roles: string[] }>
      resigned: Map<string, number>
      observed: Map<string, { from: string; proposal: { epoch: number; base: string[] }; acks: Map<string, string> }>
    }
  >
  coordinatorOf: (c: unknown) => string | undefined
  alive: (tenant: string, peerId: string) => boolean
}

interface MembershipInternals {
  view: { get: (tenant: string, peerId: string) => { state: string; stateSince: number } | undefined }
}

const short = (peer: string | undefined): string => (peer === undefined ? '-' : peer.slice(-5))

export function councilState(agents: Agent[], id: string): string {
  return agents
    .map(a => {
      const cs = a.councils as unknown as Internals
      const c = cs.councils.get(id)
      if (c === undefined) return `${a.config.name}: none`
      // With each member, the incarnation this agent holds, how long ago it last heard of it, and its
      // membership state and for how long: a suspicion under an older incarnation is ignored,
      // silence counts only once overdue, and late evidence of life revives a suspect.
      const views = new Map(a.membership.peers().map(v => [v.peerId, v]))
      const view = (a.membership as unknown as MembershipInternals).view
      const since = (p: string): string => {
        const m = view.get(c.d.tenant, p)
        return m === undefined ? '' : `/${m.state}:${Math.round((Date.now() - m.stateSince) / 1000)}s`
      }
      const heard = (p: string): string => {
        const v = views.get(p)
        return v === undefined ? '' : `#${v.incarnation}/${Math.round(v.lastSeenMs / 1000)}s${since(p)}`
      }
      const live = (p: string): string =>
        `${short(p)}:${cs.alive(c.d.tenant, p) ? 'A' : 'D'}${c.resigned.has(p) ? 'R' : ''}${heard(p)}`
      const roster = c.roster.map(s => `${s.role}=${live(s.peerId)}`).join(',')
      const claims = [...c.claims.values()].map(cl => `${short(cl.peerId)}[${cl.roles.join('|')}]`).join(',')
      const observed = [...c.observed.values()]
        .map(o => `${short(o.from)}@${o.proposal.epoch}:${o.acks.size}/${o.proposal.base.length}`)
        .join(';')
      const pending = c.pending === undefined ? '-' : `${c.pending.epoch} for ${Date.now() - c.pending.since} ms`
      return (
        `${a.config.name}(${short(a.peerId)}) ${c.state}@${c.epoch} coordinator=${short(c.coordinator)} coordinates=${short(cs.coordinatorOf(c))} promised=${c.promised} proposed=${c.proposed} pending=${pending} retries=${c.retries} ` +
        `members=[${c.members.map(live).join(',')}] roster=[${roster}] claims=[${claims}] observed=[${observed}]`
      )
    })
    .join('\n')
}
