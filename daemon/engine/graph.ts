// A chain's steps as a small graph: each step waits for the earlier steps it names (depends_on,
// by step number), so steps of one service on different servers run at the same time. A step
// with no stored list waits for the step before it, as chains written before graphs did. Pure
// functions over a chain's rows; the SQL operations decide with them what to start or cancel.

/** What the graph needs of a task row. */
export interface StepNode {
  step_no: number;
  status: string;
  depends_on: string | null;
}

/** The steps a step waits for. */
export function dependenciesOf(t: { step_no: number; depends_on: string | null }): number[] {
  if (t.depends_on === null || t.depends_on === undefined) return t.step_no > 0 ? [t.step_no - 1] : [];
  const parsed: unknown = JSON.parse(t.depends_on);
  if (!Array.isArray(parsed) || !parsed.every((n) => Number.isInteger(n))) throw new Error(`step ${t.step_no} has malformed dependencies ${t.depends_on}`);
  return parsed as number[];
}

/**
 * The stored form of a chain's dependencies: a chain that runs in sequence stores NULL for every
 * step (the landed form, and what lets a step's end take the quick path: start the next one);
 * a graph stores every step's list, "[]" for the steps that start with the chain.
 */
export function storedDependencies(steps: ReadonlyArray<{ dependsOn?: readonly number[] | null }>): Array<string | null> {
  const lists = steps.map((s, i) => (s.dependsOn === undefined || s.dependsOn === null ? (i > 0 ? [i - 1] : []) : [...new Set(s.dependsOn)].sort((a, b) => a - b)));
  const sequence = lists.every((l, i) => (i === 0 ? l.length === 0 : l.length === 1 && l[0] === i - 1));
  return lists.map((l) => (sequence ? null : JSON.stringify(l)));
}

/** Waiting steps whose every dependency has succeeded: they may start now. */
export function readySteps(steps: readonly StepNode[]): number[] {
  const succeeded = new Set(steps.filter((s) => s.status === 'succeeded').map((s) => s.step_no));
  return steps.filter((s) => s.status === 'waiting' && dependenciesOf(s).every((d) => succeeded.has(d))).map((s) => s.step_no);
}

/** Every step that waits, directly or through others, for the given one. */
export function dependentsOf(steps: readonly StepNode[], stepNo: number): number[] {
  const blocked = new Set<number>([stepNo]);
  // Dependencies point to lower step numbers, so one pass in step order finds every descendant.
  for (const s of [...steps].sort((a, b) => a.step_no - b.step_no)) {
    if (s.step_no !== stepNo && dependenciesOf(s).some((d) => blocked.has(d))) blocked.add(s.step_no);
  }
  blocked.delete(stepNo);
  return [...blocked].sort((a, b) => a - b);
}

/** True while any step may still run: the chain is not over. */
export function hasOpenSteps(steps: readonly StepNode[]): boolean {
  return steps.some((s) => s.status === 'waiting' || s.status === 'queued' || s.status === 'running');
}

/** A problem with a chain's declared dependencies, or null: each names earlier steps only, once. */
export function dependencyProblem(stepNo: number, dependsOn: readonly number[] | null | undefined): string | null {
  if (dependsOn === undefined || dependsOn === null) return null;
  if (!Array.isArray(dependsOn)) return 'dependsOn must be a list of earlier step numbers';
  for (const d of dependsOn) {
    if (!Number.isInteger(d) || d < 0 || d >= stepNo) return `dependsOn names step ${d}, which is not an earlier step of the chain (steps are numbered from 0; this is step ${stepNo})`;
  }
  if (new Set(dependsOn).size !== dependsOn.length) return 'dependsOn names a step twice';
  return null;
}

/**
 * Lanes for drawing a chain: steps that may overlap get different lanes. A step continues the lane
 * of a dependency on its own target (one server's work is one lane), or of its only dependency
 * when nothing else waits for that one (a plain sequence stays one lane); otherwise it opens the
 * lowest unused lane. A chain without parallel steps is one lane.
 */
export function lanesOf(steps: ReadonlyArray<{ step_no: number; depends_on: string | null; target?: string | null }>): Map<number, number> {
  const ordered = [...steps].sort((a, b) => a.step_no - b.step_no);
  const targetOf = new Map(ordered.map((s) => [s.step_no, s.target ?? null]));
  const dependents = new Map<number, number>();
  for (const s of ordered) for (const d of dependenciesOf(s)) dependents.set(d, (dependents.get(d) ?? 0) + 1);
  const lane = new Map<number, number>();
  const continued = new Set<number>();
  for (const s of ordered) {
    const deps = dependenciesOf(s).filter((d) => lane.has(d) && !continued.has(d));
    const target = s.target ?? null;
    const from = deps.find((d) => target !== null && targetOf.get(d) === target)
      ?? (deps.length === 1 && dependents.get(deps[0]!) === 1 ? deps[0] : undefined)
      ?? (target === null ? deps[0] : undefined);
    let l: number;
    if (from !== undefined) {
      l = lane.get(from)!;
      continued.add(from);
    } else {
      const used = new Set(lane.values());
      l = 0;
      while (used.has(l)) l++;
    }
    lane.set(s.step_no, l);
  }
  return lane;
}
