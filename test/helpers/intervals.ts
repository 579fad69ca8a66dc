// Interval arithmetic for concurrency checks: the most intervals open at one instant.
export function maxOverlap(intervals: Array<{ started: number; ended: number }>): number {
  const events: Array<[number, number]> = [];
  for (const i of intervals) {
    if (i.ended === null || i.ended === undefined) throw new Error('an interval has no end');
    events.push([i.started, +1], [i.ended, -1]);
  }
  // At equal times, an end comes before a start: touching intervals do not overlap.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let max = 0;
  for (const [, d] of events) {
    open += d;
    max = Math.max(max, open);
  }
  return max;
}
