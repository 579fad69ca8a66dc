// The admin's timeline of a chain: each step as a bar on one time axis that starts when the chain's
// first step started, so steps that ran at the same time (on different servers) visibly overlap.
// Drawn as inline SVG attributes (the pages' CSP allows no inline style), scaled to 0–1000.
import type { StepView } from '../services/reads.ts';
import { formatDuration } from './render.ts';

/** The axis' width in SVG units (the SVG stretches to its cell). */
export const AXIS = 1000;
/** A bar is at least this wide, so a step that took no time still shows. */
const MIN_BAR = 4;

export interface TimelineBar { x: number; w: number; title: string }
export type TimelineStep = StepView & { bar: TimelineBar | null };
export interface Timeline { steps: TimelineStep[]; span: string }

const round = (n: number) => Math.round(n * 10) / 10;

/** Each step with its bar (null until it starts); a running step's bar reaches now. */
export function timelineOf(steps: readonly StepView[], now: number): Timeline {
  const started = steps.filter((s) => s.started_at !== null);
  if (started.length === 0) return { steps: steps.map((s) => ({ ...s, bar: null })), span: '' };
  const endOf = (s: StepView) => Math.max(s.started_at!, s.finished_at ?? now);
  const t0 = Math.min(...started.map((s) => s.started_at!));
  const t1 = Math.max(...started.map(endOf));
  const span = Math.max(1, t1 - t0);
  return {
    span: formatDuration(t0, t0 + span),
    steps: steps.map((s) => {
      if (s.started_at === null) return { ...s, bar: null };
      const x = Math.min(AXIS - MIN_BAR, (AXIS * (s.started_at - t0)) / span);
      const w = Math.min(AXIS - x, Math.max(MIN_BAR, (AXIS * (endOf(s) - s.started_at)) / span));
      const title = `step ${s.no}: from +${formatDuration(t0, s.started_at) || '0 ms'} for ${formatDuration(s.started_at, endOf(s)) || '0 ms'}${s.finished_at === null ? ' (still running)' : ''}`;
      return { ...s, bar: { x: round(x), w: round(w), title } };
    }),
  };
}
