/** A binary min-heap of events by time, ties broken by the order they were scheduled in. */
export interface Scheduled<T> {
  at: number
  order: number
  event: T
}

export class EventHeap<T> {
  private readonly items: Array<Scheduled<T>> = []
  private order = 0

  get size(): number {
    return this.items.length
  }

  push(at: number, event: T): void {
    const item = { at, order: this.order++, event }
    const a = this.items
    a.push(item)
    let i = a.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(a[i] as Scheduled<T>, a[parent] as Scheduled<T>)) break
      ;[a[i], a[parent]] = [a[parent] as Scheduled<T>, a[i] as Scheduled<T>]
      i = parent
    }
  }

  peek(): Scheduled<T> | undefined {
    return this.items[0]
  }

  pop(): Scheduled<T> | undefined {
    const a = this.items
    const top = a[0]
    const last = a.pop()
    if (top === undefined || last === undefined || a.length === 0) return top
    a[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < a.length && this.less(a[l] as Scheduled<T>, a[m] as Scheduled<T>)) m = l
      if (r < a.length && this.less(a[r] as Scheduled<T>, a[m] as Scheduled<T>)) m = r
      if (m === i) break
      ;[a[i], a[m]] = [a[m] as Scheduled<T>, a[i] as Scheduled<T>]
      i = m
    }
    return top
  }

  private less(x: Scheduled<T>, y: Scheduled<T>): boolean {
    return x.at < y.at || (x.at === y.at && x.order < y.order)
  }
}
