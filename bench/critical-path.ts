// The critical path of a chain run as a graph: the longest sequence of dependent steps, weighted
// by each step's remote time. bench:deploy compares the deployment's wall time with it, since
// steps on different servers may run side by side. Pure: no database, no clock.

export interface TimedStep {
  stepNo: number;
  /**
   * The step numbers it waits for (the tasks table's depends_on, parsed); null means the step
   * before (none for step 0), as the engine reads a NULL column.
   */
  dependsOn: number[] | null;
  /** Remote time of the step's commands, in any unit (the result is in the same unit). */
  remote: number;
}

/** Longest weighted path through the steps' dependency graph. Throws on an unknown or later dependency. */
export function criticalPath(steps: TimedStep[]): number {
  const byNo = new Map<number, TimedStep>();
  for (const s of steps) {
    if (!Number.isInteger(s.stepNo) || s.stepNo < 0) throw new Error(`step number ${s.stepNo} is not a whole number ≥ 0`);
    if (byNo.has(s.stepNo)) throw new Error(`step ${s.stepNo} appears twice`);
    byNo.set(s.stepNo, s);
  }
  const finish = new Map<number, number>();
  // A dependency always has a lower step number, so ascending order is a topological order.
  for (const s of [...steps].sort((a, b) => a.stepNo - b.stepNo)) {
    const deps = s.dependsOn ?? (s.stepNo === 0 ? [] : [s.stepNo - 1]);
    let start = 0;
    for (const d of deps) {
      if (d >= s.stepNo) throw new Error(`step ${s.stepNo} depends on step ${d}, which is not an earlier step`);
      const f = finish.get(d);
      if (f === undefined) throw new Error(`step ${s.stepNo} depends on step ${d}, which is not in the chain`);
      start = Math.max(start, f);
    }
    finish.set(s.stepNo, start + s.remote);
  }
  let longest = 0;
  for (const f of finish.values()) longest = Math.max(longest, f);
  return longest;
}

/** The tasks table's depends_on as stored: NULL, or a JSON array of step numbers. */
export function parseDependsOn(raw: string | null, stepNo: number): number[] | null {
  if (raw === null) return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new Error(`step ${stepNo}: depends_on is not JSON: ${raw.slice(0, 100)}`);
  }
  if (!Array.isArray(v) || !v.every((d) => Number.isInteger(d))) throw new Error(`step ${stepNo}: depends_on must be an array of step numbers, got ${raw.slice(0, 100)}`);
  return v as number[];
}
