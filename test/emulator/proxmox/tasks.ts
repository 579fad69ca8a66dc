// Worker tasks: a UPID per fork, a log that grows while the task runs, and an exit status once it
// stops ("OK", "WARNINGS: n" or the error text). Durations come from the per-type table so tests
// can make a clone slow and a config change quick.
import { TaskFailure } from './errors.ts';
import { nowSec } from './state.ts';

export interface Task {
  upid: string; node: string; pid: number; pstart: number; starttime: number; type: string; id: string; user: string;
  status: 'running' | 'stopped';
  exitstatus?: string;
  endtime?: number;
  lines: string[];
  warnings: number;
  abort: AbortController;
}

export interface TaskCtx {
  readonly task: Task;
  log(line: string): void;
  warn(line: string): void;
  /**
   * The task type's duration (or `ms`), interruptible by DELETE tasks/{upid}; then an injected
   * failure, if any, fires (unless `inject` is false: a preparatory wait).
   */
  work(ms?: number, inject?: boolean): Promise<void>;
}

export const DEFAULT_TASK_MS: Record<string, number> = {
  qmclone: 200, qmigrate: 200, hamigrate: 30, resize: 60, qmstart: 80, qmstop: 40, qmshutdown: 80, qmdestroy: 60,
  qmconfig: 40, alloc: 10, qmsnapshot: 60, qmdelsnapshot: 40, qmrollback: 60, vzdump: 150, imgdel: 30, qmrestore: 150,
};

export class Tasks {
  private readonly byUpid = new Map<string, Task>();
  private pid = 100000 + Math.floor(Math.random() * 50000);
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly durations: Partial<Record<string, number>>) {}

  duration(type: string): number { return this.durations[type] ?? DEFAULT_TASK_MS[type] ?? 50; }

  get(upid: string): Task | undefined { return this.byUpid.get(upid); }
  all(): Task[] { return [...this.byUpid.values()]; }

  /**
   * Fork a worker. `fail` is an injected failure message (task-fail fault): it fires at the first
   * `work()` so the worker's own clean-up runs, as for a real error.
   */
  fork(node: string, type: string, id: string, user: string, worker: (ctx: TaskCtx) => Promise<void> | void, fail?: string): Task {
    const pid = ++this.pid;
    const starttime = nowSec();
    const pstart = 1000000 + Math.floor(process.uptime() * 100);
    const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
    const upid = `UPID:${node}:${hex(pid)}:${hex(pstart)}:${hex(starttime)}:${type}:${id}:${user}:`;
    const task: Task = { upid, node, pid, pstart, starttime, type, id, user, status: 'running', lines: [], warnings: 0, abort: new AbortController() };
    this.byUpid.set(upid, task);
    let pendingFail = fail;
    const ctx: TaskCtx = {
      task,
      log: (line) => { task.lines.push(...line.split('\n')); },
      warn: (line) => { task.warnings++; task.lines.push(`WARN: ${line}`); },
      work: async (ms, inject = true) => {
        await sleepAbortable(ms ?? this.duration(type), task.abort.signal);
        if (inject && pendingFail !== undefined) { const m = pendingFail; pendingFail = undefined; throw new TaskFailure(m); }
      },
    };
    const p = (async () => {
      try {
        await worker(ctx);
        task.exitstatus = task.warnings ? `WARNINGS: ${task.warnings}` : 'OK';
        task.lines.push(task.warnings ? `TASK WARNINGS: ${task.warnings}` : 'TASK OK');
      } catch (e) {
        const msg = (e instanceof Error ? e.message : String(e)).replace(/\n+$/, '');
        task.exitstatus = msg;
        task.lines.push(`TASK ERROR: ${msg}`);
      } finally {
        task.status = 'stopped';
        task.endtime = nowSec();
      }
    })();
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
    return task;
  }

  /** DELETE tasks/{upid}: the worker sees "interrupted by signal" at its next wait. */
  stop(task: Task): void { if (task.status === 'running') task.abort.abort(); }

  async drain(): Promise<void> {
    for (const t of this.byUpid.values()) this.stop(t);
    await Promise.allSettled([...this.running]);
  }
}

export function sleepAbortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) { reject(new TaskFailure('interrupted by signal')); return; }
    const t = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(new TaskFailure('interrupted by signal')); };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The status object of tasks/{upid}/status and the task list. */
export function taskInfo(t: Task): Record<string, string | number> {
  const o: Record<string, string | number> = { upid: t.upid, node: t.node, pid: t.pid, pstart: t.pstart, starttime: t.starttime, type: t.type, id: t.id, user: t.user, status: t.status };
  if (t.status === 'stopped') o.exitstatus = t.exitstatus!;
  return o;
}
