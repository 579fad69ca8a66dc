// Following a Proxmox task to its end (reference §2 Tasks): poll the status on the node named in
// the UPID, copy new log lines to the task log as they appear (the log is served 50 lines a
// page), and judge the exit status: `OK` and `WARNINGS: n` are success (bpg#1314: treating
// WARNINGS as failure made a retry build a second VM), anything else is a classified error.
import { ProxmoxRetryableError, taskError } from './errors.ts';
import { parseUpid } from './upid.ts';
import type { Params, TaskResult } from './types.ts';

export type Get = <T>(path: string, params?: Params) => Promise<T>;

const PAGE = 50;
/** Poll failures in a row (each after the endpoints' failover) tolerated before giving up. */
const MAX_POLL_FAILURES = 3;

/** `OK` → 0, `WARNINGS: 2` → 2, anything else → null (an error). */
export function warningsOf(exitstatus: string): number | null {
  if (exitstatus === 'OK') return 0;
  const m = /^WARNINGS: (\d+)$/.exec(exitstatus.trim());
  return m ? Number(m[1]) : null;
}

export interface WaitOptions {
  timeoutMs: number;
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

  for (;;) {
    let status: { status?: unknown; exitstatus?: unknown };
    try {
      status = await get<{ status?: unknown; exitstatus?: unknown }>(`${base}/status`);
      await readLog();
      failures = 0;
    } catch (err) {
      // A lost poll is not a failed task: try again a few times while the deadline allows.
      if (err instanceof ProxmoxRetryableError && err.status === null && ++failures <= MAX_POLL_FAILURES && Date.now() < deadline) {
        await sleep(opts.pollMs);
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
    await sleep(opts.pollMs);
  }
}
