import { describe, expect, it } from 'vitest'
import { TaskBoard, type CouncilSeats } from '../../src/task/index.js'
import type { TaskSpec } from '../../src/task/index.js'
import { MAX_EARLY_REPORTS_PER_TASK } from '../../src/task/constants.js'

const spec = (id: string, role = 'coder'): TaskSpec => ({
  id,
  council: 'c1',
  role,
  input: { n: 1 },
  timeoutMs: 60_000,
  submittedAt: 1_000,
  submittedBy: 'p0'
})
const seats = (epoch: number, coder: string): CouncilSeats => ({
  id: 'c1',
  epoch,
  state: 'active',
  roster: [
    { role: 'tpm', peerId: 'p0' },
    { role: 'coder', peerId: coder }
  ]
})
const result = (id: string, epoch: number, output: unknown, attempt = 1) => ({
  type: 'result' as const,
  id,
  council: 'c1',
  epoch,
  attempt,
  ok: true,
  output
})

describe('task board', () => {
  it('dispatches to the holder of the role and again to a new holder under the new epoch', () => {
    const board = new TaskBoard()
    const { task } = board.submit(spec('t1'), 'tenant-a', seats(3, 'pA'))
    expect([task.holder, task.epoch, task.state]).toEqual(['pA', 3, 'queued'])
    expect(board.started('pA', { type: 'start', id: 't1', council: 'c1', epoch: 3, attempt: 1 })).toBe(true)
    expect(board.get('t1')?.state).toBe('running')
    // A commit that keeps the coder seat does not move the task.
    expect(board.assign(seats(4, 'pA'))).toEqual([])
    const moved = board.assign(seats(5, 'pB'))
    expect(moved.map(t => [t.id, t.holder, t.epoch, t.state])).toEqual([['t1', 'pB', 5, 'queued']])
  })

  it("accepts exactly one result and discards a former holder's older-epoch result", () => {
    const board = new TaskBoard()
    board.submit(spec('t1'), 'tenant-a', seats(3, 'pA'))
    board.assign(seats(5, 'pB'))
    expect(board.result('pA', result('t1', 3, 'old'))).toBe('stale')
    expect(board.get('t1')?.state).toBe('queued')
    expect(board.result('pB', result('t1', 5, 'new', 2))).toBe('accepted')
    expect(board.result('pB', result('t1', 5, 'again', 2))).toBe('duplicate')
    expect(board.result('pA', result('t1', 3, 'late'))).toBe('duplicate')
    expect(board.get('t1')).toMatchObject({ state: 'done', result: 'new', holder: 'pB', epoch: 5, attempts: 2 })
  })

  it("lets the holder's result replace a failure it only inferred, and nothing replace a holder's word", () => {
    const board = new TaskBoard()
    board.submit(spec('t1'), 'tenant-a', seats(3, 'pA'))
    board.submit(spec('t2'), 'tenant-a', seats(3, 'pA'))
    // The deadline passed here before the result arrived (a slow or lost message).
    expect(board.fail('t1', 'timed out after 60000 ms without a result')).toBe(true)
    expect(board.failedHere('t1')).toBe(true)
    expect(board.result('pA', result('t1', 3, 'late but real'))).toBe('accepted')
    expect(board.get('t1')).toMatchObject({ state: 'done', result: 'late but real' })
    expect(board.get('t1')?.error).toBeUndefined()
    expect(board.failedHere('t1')).toBe(false)
    expect(board.result('pA', result('t1', 3, 'again'))).toBe('duplicate')
    // A former holder's older result does not replace it either.
    board.assign(seats(5, 'pB'))
    expect(board.fail('t2', 'council dissolved')).toBe(true)
    expect(board.result('pA', result('t2', 3, 'stale'))).toBe('stale')
    expect(board.get('t2')?.state).toBe('failed')
    // A failure the holder reported is its word: a later result is a duplicate.
    board.submit(spec('t3'), 'tenant-a', seats(5, 'pB'))
    expect(board.result('pB', { ...result('t3', 5, null), ok: false, error: 'crashed' })).toBe('accepted')
    expect(board.result('pB', result('t3', 5, 'second thoughts'))).toBe('duplicate')
    expect(board.get('t3')).toMatchObject({ state: 'failed', error: 'crashed' })
  })

  it("accepts a newer holder's result before this agent saw the commit that seated it", () => {
    const board = new TaskBoard()
    board.submit(spec('t1'), 'tenant-a', seats(3, 'pA'))
    expect(board.result('pB', result('t1', 6, 'from-pB'))).toBe('accepted')
    expect(board.get('t1')?.holder).toBe('pB')
    // The commit that seated pB arrives later: the task is finished and stays with pB.
    expect(board.assign(seats(6, 'pB'))).toEqual([])
  })

  it('applies a start and a result that arrived before the task itself', () => {
    const board = new TaskBoard()
    // Gossip from two senders is not ordered: the holder's start overtook the submit.
    expect(board.started('pA', { type: 'start', id: 't1', council: 'c1', epoch: 3, attempt: 1 })).toBe(false)
    board.submit(spec('t1'), 'tenant-a', seats(3, 'pA'))
    expect(board.get('t1')).toMatchObject({ state: 'running', holder: 'pA', attempts: 1 })
    // After a failover the new holder counts that first attempt.
    board.assign(seats(5, 'pB'))
    expect(board.get('t1')).toMatchObject({ state: 'queued', holder: 'pB', attempts: 1 })

    expect(board.result('pA', result('t2', 3, 'early'))).toBe('unknown')
    board.submit(spec('t2'), 'tenant-a', seats(3, 'pA'))
    expect(board.get('t2')).toMatchObject({ state: 'done', result: 'early', holder: 'pA' })
  })

  it('keeps a bounded number of early reports per task (a flood for an unknown id stays small)', () => {
    const board = new TaskBoard()
    for (let attempt = 1; attempt <= 20; attempt++) {
      board.started('pA', { type: 'start', id: 't3', council: 'c1', epoch: 3, attempt })
    }
    board.submit(spec('t3'), 'tenant-a', seats(3, 'pA'))
    expect(board.get('t3')?.attempts).toBe(MAX_EARLY_REPORTS_PER_TASK)
  })

  it('is idempotent by id, ignores starts of former holders, and fails overdue tasks', () => {
    const board = new TaskBoard()
    expect(board.submit(spec('t1'), 'tenant-a').created).toBe(true)
    expect(board.submit({ ...spec('t1'), input: 'different' }, 'tenant-a').created).toBe(false)
    expect(board.get('t1')?.input).toEqual({ n: 1 })
    board.assign(seats(2, 'pA'))
    board.assign(seats(4, 'pB'))
    expect(board.started('pA', { type: 'start', id: 't1', council: 'c1', epoch: 2, attempt: 1 })).toBe(false)
    expect(board.overdue(1_000 + 60_000)).toEqual([])
    expect(board.overdue(1_000 + 60_000 + 5_000).map(t => t.id)).toEqual(['t1'])
    expect(board.fail('t1', 'timed out')).toBe(true)
    expect(board.fail('t1', 'again')).toBe(false)
    expect(board.get('t1')).toMatchObject({ state: 'failed', error: 'timed out' })
  })
})
