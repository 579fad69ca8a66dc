// The one progress model: a service's latest chain as "n of m steps", what is happening now and
// each step with its label and state. The WHMCS fragment, the customer's deploy page (and its
// progress.json) and the admin service page all show this, so a deploy reads the same everywhere.
import type { ServiceView, StepView } from '../services/reads.ts';
import { formatTime } from './render.ts';

export type Phase = 'deploying' | 'failed' | 'ready' | 'busy';

const DEPLOYING_OPS = ['deploy', 'redeploy', 'verify-repair'];

/** What a page shows for the service: deploying (with progress), the service panel, or a failure. */
export function phase(v: ServiceView): Phase {
  const p = v.progress;
  // A repair or redeploy under way after a failure (Try again) shows its progress, not the old failure.
  if (p && DEPLOYING_OPS.includes(p.operation) && (p.state === 'running' || p.state === 'waiting')) return 'deploying';
  if (v.state === 'failed' || v.state === 'terminate-failed') return 'failed';
  if (v.state === 'deploying' || (p && DEPLOYING_OPS.includes(p.operation) && p.state !== 'succeeded' && p.state !== 'failed' && p.state !== 'cancelled')) return 'deploying';
  if (p && (p.state === 'running' || p.state === 'waiting')) return 'busy';
  return 'ready';
}

/** A task status in the customer's words. */
const STATUS_WORD: Record<string, string> = {
  succeeded: 'done', running: 'in progress', retrying: 'retrying', queued: 'queued', waiting: 'queued', failed: 'failed', cancelled: 'not run',
};
const wordOf = (status: string) => STATUS_WORD[status] ?? status;

export interface ProgressStep {
  /** From 1, as the engine's messages count steps. */
  no: number;
  label: string;
  status: string;
  word: string;
  done: boolean;
  lane: number;
  /** The steps (by number) it waits for in other lanes: where parallel work joins. */
  joins: number[];
  /** The same in words ("after step 6"), or null. */
  waits: string | null;
}

/** Steps that may run at the same time are drawn side by side, one lane each, titled by their servers. */
export interface Lane { lane: number; title: string; steps: ProgressStep[] }

export interface Progress {
  phase: Phase;
  state: string;
  operation: string | null;
  /** n of m: steps succeeded of the chain's steps. */
  done: number;
  total: number;
  running: number;
  /** Steps neither done nor running. */
  pending: number;
  /** Steps not done yet (running ones included): "k to go". */
  remaining: number;
  percent: number;
  /** What is happening now, in a sentence (null when nothing is). */
  current: string | null;
  steps: ProgressStep[];
  /** The steps by lane; one lane when the chain runs in sequence. */
  lanes: Lane[];
  /** More than one lane: the pages draw the lanes side by side. */
  parallel: boolean;
  recent: Array<{ label: string; status: string; word: string; at: string }>;
}

/** The progress of a service's latest chain; also the JSON the deploy page polls, so it holds nothing secret. */
export function progressOf(v: ServiceView): Progress {
  const ph = phase(v);
  const p = v.progress;
  const views = p?.steps ?? [];
  const laneOf = new Map(views.map((s) => [s.no, s.lane]));
  const steps = views.map((s): ProgressStep => ({
    no: s.no, label: s.label, status: s.status, word: wordOf(s.status), done: s.status === 'succeeded', lane: s.lane,
    joins: s.after.filter((n) => laneOf.has(n) && laneOf.get(n) !== s.lane), waits: null,
  }));
  for (const s of steps) if (s.joins.length > 0) s.waits = `after step${s.joins.length > 1 ? 's' : ''} ${s.joins.join(', ')}`;
  const lanes = lanesFor(views, steps);
  const done = p?.done ?? 0;
  const total = p?.total ?? 0;
  const running = steps.filter((s) => s.status === 'running' || s.status === 'retrying').length;
  const finished = !!p && p.state === 'succeeded';
  return {
    phase: ph, state: v.state, operation: p?.operation ?? null, done, total, running,
    pending: Math.max(0, total - done - running), remaining: Math.max(0, total - done),
    percent: total > 0 ? Math.round((100 * done) / total) : 0,
    current: finished ? 'Deployment finished — refreshing…' : p?.current ?? (ph === 'deploying' ? 'Waiting for a worker…' : null),
    steps, lanes, parallel: lanes.length > 1,
    recent: v.recent.map((r) => ({ label: r.label, word: wordOf(r.status), status: r.status, at: formatTime(r.at) })),
  };
}

/** The steps grouped by lane, lanes in order; a lane is titled by the servers its steps run on. */
function lanesFor(views: readonly StepView[], steps: readonly ProgressStep[]): Lane[] {
  const byLane = new Map<number, { servers: string[]; steps: ProgressStep[] }>();
  views.forEach((v, i) => {
    const l = byLane.get(v.lane) ?? { servers: [], steps: [] };
    if (v.server && !l.servers.includes(v.server)) l.servers.push(v.server);
    l.steps.push(steps[i]!);
    byLane.set(v.lane, l);
  });
  return [...byLane.entries()].sort(([a], [b]) => a - b)
    .map(([lane, l]) => ({ lane, title: l.servers.length > 0 ? l.servers.join(' · ') : `Lane ${lane + 1}`, steps: l.steps }));
}
