// The one progress model: a service's latest chain as "n of m steps", what is happening now and
// each step with its label and state. The WHMCS fragment, the customer's deploy page (and its
// progress.json) and the admin service page all show this, so a deploy reads the same everywhere.
import type { ServiceView } from '../services/reads.ts';
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

export interface ProgressStep { label: string; status: string; word: string; done: boolean }

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
  recent: Array<{ label: string; status: string; word: string; at: string }>;
}

/** The progress of a service's latest chain; also the JSON the deploy page polls, so it holds nothing secret. */
export function progressOf(v: ServiceView): Progress {
  const ph = phase(v);
  const p = v.progress;
  const steps = (p?.steps ?? []).map((s) => ({ label: s.label, status: s.status, word: wordOf(s.status), done: s.status === 'succeeded' }));
  const done = p?.done ?? 0;
  const total = p?.total ?? 0;
  const running = steps.filter((s) => s.status === 'running' || s.status === 'retrying').length;
  const finished = !!p && p.state === 'succeeded';
  return {
    phase: ph, state: v.state, operation: p?.operation ?? null, done, total, running,
    pending: Math.max(0, total - done - running), remaining: Math.max(0, total - done),
    percent: total > 0 ? Math.round((100 * done) / total) : 0,
    current: finished ? 'Deployment finished — refreshing…' : p?.current ?? (ph === 'deploying' ? 'Waiting for a worker…' : null),
    steps,
    recent: v.recent.map((r) => ({ label: r.label, word: wordOf(r.status), status: r.status, at: formatTime(r.at) })),
  };
}
