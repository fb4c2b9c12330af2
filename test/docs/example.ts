// The README's library example, type-checked with the rest of the code (docs.test.ts compares the two).
import { createAgent, defineBehaviour } from '../../src/index.js'

const reviewer = defineBehaviour({
  roles: ['reviewer'],
  async onTask(task, ctx) {
    const earlier = ctx.memory.recent({ role: 'reviewer', limit: 10 })
    await ctx.memory.record({ summary: `reviewed ${JSON.stringify(task.input)} after ${earlier.length} others` })
    return { output: { approved: true }, summary: 'approved', reward: 1 }
  }
})

// Settings come from CONCLAVE_* variables, as for `conclave start`; `config` overrides them.
const agent = await createAgent({ behaviours: [reviewer], config: { roles: ['reviewer'] } })
const council = await agent.councils.open({ project: 'web-app', coreRoles: ['reviewer'] })
agent.tasks.onChange(task => {
  if (task.state === 'done' || task.state === 'failed') console.log(task.id, task.state, task.result)
})
await agent.tasks.submit(council, { role: 'reviewer', input: { pr: 42 } })
