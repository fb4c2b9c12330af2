import type { Agent } from '../../src/agent/index.js'

/**
 * When each agent last reported a change of each council. The council benchmark times a round by
 * these, not by when its polling loop noticed: with 25 agents per process on 2 cores, a 5 ms
 * poll timer fired up to ~500 ms after the last agent had applied the commit (traced), which
 * measured the poller's event loop, not the protocol.
 */
export class CouncilChangeTimes {
  private readonly times = new WeakMap<Agent, Map<string, number>>()

  watch(agent: Agent): void {
    const times = new Map<string, number>()
    this.times.set(agent, times)
    agent.councils.onChange(view => {
      times.set(view.id, Date.now())
    })
  }

  /**
   * When the last of `agents` reported its latest change of `council` (ms since the epoch): the
   * moment they all reached the state they now hold (now, for an agent not watched). `all` over
   * every one of `agents`; `members` over those that are members of the council (holders and
   * standbys of the epoch each now holds: a round is timed at every member), -Infinity
   * when none is.
   */
  settled(agents: Agent[], council: string): Reached {
    const last = (of: Agent[]): number => Math.max(...of.map(a => this.at(a, council)))
    return {
      all: last(agents),
      members: last(agents.filter(a => a.councils.get(council)?.members.includes(a.peerId) === true))
    }
  }

  private at(agent: Agent, council: string): number {
    return this.times.get(agent)?.get(council) ?? Date.now()
  }
}

/** When (ms since the epoch) a round was reached by every agent, and by every council member. */
export interface Reached {
  all: number
  members: number
}
