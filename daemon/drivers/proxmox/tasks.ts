// Following a Proxmox task to its end (reference §2 Tasks): poll the status on the node named in
// the UPID, copy new log lines to the task log as they appear (the log is served 50 lines a
// page), and judge the exit status: `OK` and `WARNINGS: n` are success (bpg#1314: treating
// WARNINGS as failure made a retry build a second VM), anything else is a classified error.
//
// When to poll: a deployment's tasks take from well under a second (a config change, a resize) to
// a few seconds (clone, migrate, start), and a poll that comes late is time the order waits for
// nothing; a fixed 1 s poll wasted up to a second per task. So the first poll comes 50 ms after
// the task started and each wait is 25 ms longer than the one before (50, 75, 100, … ms) up to
// `pollMs` (default 1 s, the reference's "about once a second"): a finished task is seen at most
// one wait late, and the wait under way when a task of t seconds ends is about √(t/20) s (~160 ms
// at 0.5 s, ~220 ms at 1 s, ~320 ms at 2 s), for ~13 polls in a 2 s task; a long task costs one
// poll a second after its first ~20 s (40 polls). Modelled over tasks of 0.1–3 s with 30 ms per
// call, a task is seen ~110 ms late on average for ~9 polls (waits growing by 50 ms: ~165 ms for
// 7 polls; a fixed 1 s: ~500 ms). While the task runs its log is read at most once a second, so a
// poll is one request; once the task stopped, the rest of the log is read in full.
import { ProxmoxRetryableError, taskError } from './errors.ts';
import { parseUpid } from './upid.ts';
import type { Params, TaskResult } from './types.ts';

export type Get = <T>(path: string, params?: Params) => Promise<T>;

const PAGE = 50;
/** Poll failures in a row (each after the endpoints' failover) tolerated before giving up. */
const MAX_POLL_FAILURES = 3;
/** The first wait, and how much longer each next one is (see the schedule above). */
const FIRST_POLL_MS = 50;
const POLL_STEP_MS = 25;
/** While a task runs, its log is read no more often than this. */
const LOG_EVERY_MS = 1000;

/** The wait before status poll number `polls` (0 = the first) of a task: 50, 75, 100, … ms, never above `capMs`. */
export function pollDelay(polls: number, capMs: number): number {
  return Math.min(capMs, FIRST_POLL_MS + Math.max(0, polls) * POLL_STEP_MS);
}

/** `OK` → 0, `WARNINGS: 2` → 2, anything else → null (an error). */
export function warningsOf(exitstatus: string): number | null {
  if (exitstatus === 'OK') return 0;
  const m = /^WARNINGS: (\d+)$/.exec(exitstatus.trim());
  return m ? Number(m[1]) : null;
}

export interface WaitOptions {
  timeoutMs: number;
  /** The longest wait between two status polls (the waits grow to it: pollDelay). */
  pollMs: number;
  log: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitTask(get: Get, upid: string, opts: WaitOptions): Promise<TaskResult> {
  const { node } = parseUpid(upid);
  const base = `/nodes/${encodeURIComponent(node)}/tasks/${encodeURIComponent(upid)}`;
  const sleep = opts.sleep ?? defaultSleep;
  const deadline = Date.now() + opts.timeoutMs;
  const lines: string[] = [];
  let seen = 0;
  let failures = 0;
  let polls = 0;
  let logReadAt = Date.now();
  const wait = (ms: number) => sleep(Math.max(1, Math.min(ms, deadline - Date.now())));

  const readLog = async () => {
    for (;;) {
      const page = await get<Array<{ n?: unknown; t?: unknown }>>(`${base}/log`, { start: seen, limit: PAGE });
      if (!Array.isArray(page)) return;
      let fresh = 0;
      for (const entry of page) {
        const n = Number(entry.n);
        if (!Number.isInteger(n) || n <= seen) continue;
        seen = n;
        fresh++;
        const text = String(entry.t ?? '');
        lines.push(text);
        opts.log(`  ${text}`);
      }
      if (page.length < PAGE || fresh === 0) return;
    }
  };

  await wait(pollDelay(polls++, opts.pollMs));
  for (;;) {
    let status: { status?: unknown; exitstatus?: unknown };
    try {
      status = await get<{ status?: unknown; exitstatus?: unknown }>(`${base}/status`);
      // A stopped task's log is complete: read all of it; a running one's once a second.
      if (status.status === 'stopped' || Date.now() - logReadAt >= LOG_EVERY_MS) {
        await readLog();
        logReadAt = Date.now();
      }
      failures = 0;
    } catch (err) {
      // A lost poll is not a failed task: try again a few times while the deadline allows.
      if (err instanceof ProxmoxRetryableError && err.status === null && ++failures <= MAX_POLL_FAILURES && Date.now() < deadline) {
        await wait(opts.pollMs);
        continue;
      }
      throw err;
    }
    if (status.status === 'stopped') {
      const exitstatus = typeof status.exitstatus === 'string' ? status.exitstatus.trim() : '';
      const warnings = warningsOf(exitstatus);
      if (warnings === null) throw taskError(upid, exitstatus || 'unexpected status (the task stopped without an exit status)', lines);
      return { upid, exitstatus, warnings, log: lines };
    }
    if (Date.now() >= deadline) {
      throw new ProxmoxRetryableError(`Proxmox task ${upid} is still running after ${opts.timeoutMs} ms; it goes on on ${node}`, {
        status: null, proxmoxMessage: 'task still running', call: `task ${upid}`, upid, taskLog: lines,
      });
    }
    await wait(pollDelay(polls++, opts.pollMs));
  }
}
