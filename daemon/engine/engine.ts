// The worker: claims due tasks, runs their handlers, keeps their leases alive, and records each
// attempt. When a task finishes it looks for more work at once, so the next step of a chain
// starts without waiting for a poll or a tick. It writes through the Queue it is given, whose
// hooks say what a chain's end means for its service.
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/logger.ts';
import { globalMasker, Masker } from '../log/mask.ts';
import { isConnectionError } from '../db/connect.ts';
import { classifyError, errorMessage, TerminalError } from '../common/errors.ts';
import type { TaskContext, TaskInfo, TaskRegistry } from './registry.ts';
import type { RetryPolicy } from './retry.ts';
import type { Queue } from './queue.ts';
import type { Claim } from './rows.ts';
import { claimDue } from './sql/claim.ts';
import { renewLeases } from './sql/renew.ts';
import { finishAndHandOff, type Success } from './sql/finish-succeeded.ts';
import { finishFailed } from './sql/finish-failed.ts';

export interface EngineOptions {
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  claimBatch?: number;
  logger: Logger;
  /** Current default retry policy (from settings). */
  retryDefaults: () => RetryPolicy;
  /** Live output of running tasks, line by line (the CLI prints it; the daemon logs at debug). */
  onLine?: (task: TaskInfo, line: string) => void;
  /** Each attempt's end, with how long its handler ran (the daemon's metrics observe it). */
  onFinished?: (task: TaskInfo, outcome: 'succeeded' | 'retry' | 'failed' | 'lost', durationMs: number) => void;
}

interface Running {
  claim: Claim;
  controller: AbortController;
  /** Local time until which the lease is surely ours (renewals move it forward). */
  heldUntil: number;
  lost: boolean;
  /** Its success's hand-off took all that its end made ready: no claim need look for it. */
  covered?: boolean;
}

const MAX_LINES_BYTES = 256 * 1024;
/** The longest a freed worker waits for other tasks to end, so that one claim takes them together. */
const CLAIM_GAP_MS = 20;
/**
 * Transactions recording successes at once. With one, a success that ends while a batch commits
 * waits for that commit before its own begins. bench:fleet, PowerDNS's tasks (the busiest server)
 * in the burst's first 10 s, two interleaved pairs: from a handler's end to its finish, 88 and
 * 58 ms at the median with one writer, 42 and 34 ms with two.
 */
const SUCCESS_WRITERS = 2;

export class Engine {
  /** `handedOff`: tasks taken in a finishing transaction (counted in `claimed` too). */
  readonly stats = { claimed: 0, handedOff: 0, succeeded: 0, retried: 0, failed: 0, lost: 0 };
  /** Keyed by task id and owner token: a task re-claimed here after losing its lease is another entry. */
  private readonly running = new Map<string, Running>();
  /** Successes waiting to be written; those that finish while a write is under way share the next one. */
  private pendingSuccesses: Array<{ item: Success; done: (r: { held: boolean; covered: boolean }) => void; fail: (err: unknown) => void }> = [];
  private writers = 0;
  /** A writer is to start on the next turn of the loop: successes until then join its batch. */
  private writerDue = false;
  /** The last claim took all it asked for: due work may be waiting beyond the servers just freed. */
  private backlog = false;
  /** Tasks that claims and hand-offs under way may still start, beyond the workers they replace. */
  private claiming = 0;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private readonly idle = new Set<() => void>();

  constructor(private readonly queue: Queue, private readonly registry: TaskRegistry, private readonly opts: EngineOptions) {}

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.dispatch();
    this.renewTimer = setInterval(() => void this.renew(), Math.max(100, Math.floor(this.opts.leaseMs / 3)));
    this.renewTimer.unref();
  }

  /** Asks the dispatcher to look for due work now (after an enqueue, a completion, an admin action). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** Stops claiming, lets running tasks finish for up to graceMs, then returns. Unfinished tasks are retaken by lease expiry. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loop;
    this.loop = null;
    if (this.running.size > 0) {
      // A timer of our own, cleared once idle: a pending grace timer would keep the process alive.
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((r) => this.idle.add(r)), new Promise<void>((r) => { grace = setTimeout(r, graceMs); })]);
      clearTimeout(grace);
    }
    if (this.renewTimer) clearInterval(this.renewTimer);
    for (const r of this.running.values()) r.controller.abort(new Error('daemon stopping'));
  }

  private async dispatch(): Promise<void> {
    let errorStreak = 0;
    let lastClaim = 0;
    const types = this.registry.names();
    const batch = this.opts.claimBatch ?? this.opts.concurrency;
    while (!this.stopping) {
      this.woken = false;
      const free = this.opts.concurrency - this.running.size - this.claiming;
      // Under load, claim in batches worth a transaction; when idle, claim at once (chain latency).
      // A smaller free count is claimed CLAIM_GAP_MS after the last claim: with more workers than
      // servers the free count may never reach a batch, and a server whose task just ended would
      // otherwise sit idle until the next poll (bench:fleet: PowerDNS, the busiest, idle for
      // up to 250 ms between its tasks while the other servers were busy).
      const worthIt = this.running.size === 0 ? 1 : Math.max(1, Math.floor(this.opts.concurrency / 4));
      const gap = Math.min(this.opts.pollMs, CLAIM_GAP_MS);
      const since = Date.now() - lastClaim;
      let asked = 0;
      let got = 0;
      if (free >= worthIt || (free > 0 && since >= gap)) {
        lastClaim = Date.now();
        asked = Math.min(free, batch);
        this.claiming += asked;
        let claims: Claim[] | null = null;
        let claimError: unknown;
        try {
          claims = await claimDue(this.queue.db, { owner: crypto.randomUUID(), limit: asked, leaseMs: this.opts.leaseMs, types });
        } catch (err) {
          claimError = err;
        }
        this.claiming -= asked;
        if (claims === null) {
          errorStreak++;
          const wait = Math.min(5000, 100 * 2 ** Math.min(errorStreak, 6));
          this.opts.logger.warn(`cannot claim tasks: ${errorMessage(claimError)}; trying again in ${wait} ms`, { code: (claimError as { code?: string }).code });
          await sleep(wait);
          continue;
        }
        errorStreak = 0;
        got = claims.length;
        this.backlog = got > 0 && got === asked;
        for (const c of claims) this.launch(c);
      }
      if (got > 0 && got === asked) continue; // there may be more due work
      // Woken by an ending task inside the gap: claim when the gap is over rather than at the next poll.
      if (this.woken && asked === 0 && free > 0) await sleep(gap - since);
      else if (!this.woken) await this.waitForWake(this.opts.pollMs);
    }
  }

  private waitForWake(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = null;
        done();
      };
    });
  }

  private launch(claim: Claim): void {
    this.stats.claimed++;
    const r: Running = { claim, controller: new AbortController(), heldUntil: Date.now() + this.opts.leaseMs, lost: false };
    const key = `${claim.id}:${claim.owner}`;
    this.running.set(key, r);
    void this.execute(r).finally(() => {
      this.running.delete(key);
      if (this.running.size === 0) for (const f of this.idle) f();
      if (!r.covered) this.wake();
    });
  }


  private async execute(r: Running): Promise<void> {
    const { claim } = r;
    const masker = new Masker(globalMasker);
    const lines: string[] = [];
    let bytes = 0;
    const started = performance.now();
    const task: TaskInfo = {
      id: Number(claim.id), chainId: claim.chain_id === null ? null : Number(claim.chain_id), stepNo: claim.step_no, serviceId: claim.service_id, operation: claim.operation,
      step: claim.step, type: claim.type, target: claim.target, args: null, attempt: claim.attempts,
    };
    const log = (line: string) => {
      const masked = masker.mask(String(line));
      bytes += masked.length + 1;
      lines.push(masked);
      while (bytes > MAX_LINES_BYTES && lines.length > 1) bytes -= lines.shift()!.length + 1;
      this.opts.onLine?.(task, masked);
    };
    let ok = false;
    let result: unknown;
    let error: unknown;
    try {
      try {
        task.args = claim.args === null ? null : JSON.parse(claim.args);
      } catch {
        throw new TerminalError(`task arguments are not valid JSON`);
      }
      const type = this.registry.get(claim.type);
      if (!type) throw new TerminalError(`no handler for task type "${claim.type}" in this daemon`);
      const ctx: TaskContext = { task, log, secret: (v) => void masker.add(v), signal: r.controller.signal };
      result = await type.run(ctx);
      ok = true;
    } catch (err) {
      error = err;
    }
    const durationMs = performance.now() - started;
    if (r.lost) {
      this.stats.lost++;
      this.opts.onFinished?.(task, 'lost', durationMs);
      this.opts.logger.warn(`task ${claim.id} (${claim.type}) lost its lease while running; its result is discarded and the task is retried elsewhere`);
      return;
    }
    const output = lines.join('\n');
    let outcome: 'succeeded' | 'retry' | 'failed' | 'lost';
    for (let attempt = 0; ; attempt++) {
      try {
        if (ok) {
          const recorded = await this.recordSuccess({ claim, output, durationMs, result });
          r.covered = recorded.covered;
          outcome = recorded.held ? 'succeeded' : 'lost';
        } else {
          const message = masker.mask(errorMessage(error));
          const kind = classifyError(error);
          const policy = this.registry.policyFor(claim.type, this.opts.retryDefaults(), claim.max_attempts);
          outcome = await finishFailed(this.queue, claim, { output, durationMs, error: message, kind, policy });
        }
        break;
      } catch (err) {
        // The database may be restarting: keep the result and try again while the lease is ours.
        if (isConnectionError(err) && Date.now() + 200 < r.heldUntil) {
          if (attempt === 0) this.opts.logger.warn(`cannot record the result of task ${claim.id}: ${errorMessage(err)}; retrying`);
          await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)));
          continue;
        }
        this.opts.logger.error(`cannot record the result of task ${claim.id}: ${errorMessage(err)}; it will be retried when its lease expires`);
        outcome = 'lost';
        break;
      }
    }
    if (outcome === 'succeeded') this.stats.succeeded++;
    else if (outcome === 'retry') this.stats.retried++;
    else if (outcome === 'failed') this.stats.failed++;
    else this.stats.lost++;
    this.opts.onFinished?.(task, outcome, durationMs);
    const level = outcome === 'failed' ? 'warn' : 'debug';
    if (!this.opts.logger.isLevelEnabled(level)) return;
    this.opts.logger.log(level, `task ${claim.id} ${claim.operation}/${claim.step} (${claim.type}) attempt ${claim.attempts}: ${outcome}`,
      { duration_ms: Math.round(durationMs), ...(ok ? {} : { error: masker.mask(errorMessage(error)) }) });
  }

  private recordSuccess(item: Success): Promise<{ held: boolean; covered: boolean }> {
    return new Promise((done, fail) => {
      this.pendingSuccesses.push({ item, done, fail });
      // Start on the next turn of the event loop, so tasks finishing together share one commit.
      if (this.writers < SUCCESS_WRITERS && !this.writerDue) {
        this.writers++;
        this.writerDue = true;
        setImmediate(() => {
          this.writerDue = false;
          void this.writeSuccesses();
        });
      }
    });
  }

  private async writeSuccesses(): Promise<void> {
    while (this.pendingSuccesses.length > 0) {
      const batch = this.pendingSuccesses.splice(0, 200);
      // The finishing workers, and the idle ones, take their next tasks in the same transaction
      // (several steps of a chain may start together). A freed server's next task only while no
      // claim has left due work behind: it is then what a claim would take, and under a backlog
      // the oldest due task elsewhere comes first.
      const idle = this.stopping ? 0 : Math.max(0, this.opts.concurrency - this.running.size - this.claiming);
      this.claiming += idle;
      const handOff = this.stopping ? null : {
        owner: crypto.randomUUID(), limit: batch.length + idle, leaseMs: this.opts.leaseMs, types: this.registry.names(), servers: !this.backlog,
      };
      let written: Awaited<ReturnType<typeof finishAndHandOff>>;
      try {
        written = await finishAndHandOff(this.queue, batch.map((b) => b.item), handOff);
      } catch (err) {
        // Each task's own loop decides whether to try again.
        for (const b of batch) b.fail(err);
        continue;
      } finally {
        this.claiming -= idle;
      }
      const { held, next } = written;
      // Launched before the finished ones leave `running`, whose handlers have ended: for a
      // moment both count, so a claim under way asks for less, never more.
      this.stats.handedOff += next.length;
      for (const c of next) this.launch(c);
      // Fewer than it could take: it took every task the batch's end made ready, so these
      // workers' ends need not wake the dispatcher to look again.
      const covered = handOff !== null && handOff.servers && next.length < handOff.limit;
      batch.forEach((b, i) => b.done({ held: held[i], covered }));
    }
    this.writers--;
  }

  /** Extends the leases of running tasks; aborts those whose lease is gone or can no longer be vouched for. */
  private async renew(): Promise<void> {
    if (this.running.size === 0) return;
    const held = [...this.running.values()].map((r) => ({ id: Number(r.claim.id), owner: r.claim.owner }));
    const sentAt = Date.now();
    try {
      const still = await renewLeases(this.queue.db, held, this.opts.leaseMs);
      const sent = new Set(held.map((h) => `${h.id}:${h.owner}`));
      for (const [key, r] of this.running) {
        if (!sent.has(key)) continue;
        if (still.has(Number(r.claim.id))) r.heldUntil = sentAt + this.opts.leaseMs;
        else this.markLost(r, 'the task was taken back or cancelled');
      }
    } catch (err) {
      this.opts.logger.warn(`cannot renew task leases: ${errorMessage(err)}`);
      for (const r of this.running.values()) {
        if (Date.now() >= r.heldUntil) this.markLost(r, 'its lease could not be renewed in time');
      }
    }
  }

  private markLost(r: Running, why: string): void {
    if (r.lost) return;
    r.lost = true;
    r.controller.abort(new Error(`lease lost: ${why}`));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
