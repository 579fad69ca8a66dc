// How many exec channels one SSH connection may have open at once, and the commands waiting for
// one. OpenSSH's sshd refuses session channels above its MaxSessions (10 by default) per
// connection; the gate keeps below a configured limit, and after a refusal below what the server
// just showed it takes, until the connection is idle again or a back-off has passed.

/** The connection went away while a command waited for a channel: nothing was started. */
export class GateClosedError extends Error {
  constructor() {
    super('the SSH connection closed');
    this.name = 'GateClosedError';
  }
}

export interface AcquireOptions {
  /** Epoch ms after which the wait ends with `onTimeout()`'s error. */
  deadline: number;
  signal?: AbortSignal;
  /** Goes to the front of the queue (a command sshd refused, or a kill). */
  urgent?: boolean;
  onTimeout(): Error;
  onAbort(): Error;
}

interface Waiter {
  grant(): void;
  fail(err: Error): void;
}

export class ChannelGate {
  private open = 0;
  /** Lowered by a refusal to what sshd took at that moment; forgotten once no channel is open. */
  private learned: number | null = null;
  private readonly queue: Waiter[] = [];
  private closed = false;
  /** Refusals since the connection was last idle: each doubles the wait before asking sshd again. */
  private refusalsInRow = 0;
  private retest: NodeJS.Timeout | null = null;

  constructor(private configured: number) {}

  /** Channels of ours open (or being opened) on the connection now. */
  get inUse(): number {
    return this.open;
  }

  get limit(): number {
    return Math.min(this.configured, this.learned ?? Infinity);
  }

  /** The limit as configured for the server (it may change between calls). */
  configure(limit: number): void {
    this.configured = limit;
    this.pump();
  }

  /** Resolves once a channel may be opened; the caller then calls release() exactly once. */
  acquire(opts: AcquireOptions): Promise<void> {
    if (this.closed) return Promise.reject(new GateClosedError());
    if (opts.signal?.aborted) return Promise.reject(opts.onAbort());
    if ((this.queue.length === 0 || opts.urgent) && this.open < this.limit) {
      this.open++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
      };
      const waiter: Waiter = {
        grant: () => {
          done();
          this.open++;
          resolve();
        },
        fail: (err) => {
          done();
          reject(err);
        },
      };
      const onAbort = () => waiter.fail(opts.onAbort());
      const timer = setTimeout(() => waiter.fail(opts.onTimeout()), Math.max(0, opts.deadline - Date.now()));
      timer.unref?.();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.urgent) this.queue.unshift(waiter);
      else this.queue.push(waiter);
    });
  }

  release(): void {
    this.open = Math.max(0, this.open - 1);
    if (this.open === 0) this.forget();
    this.pump();
  }

  /**
   * sshd refused the channel this slot was for: the slot is given back, and the connection takes
   * no more than the channels of ours still open. Waiting commands then queue until one of those
   * closes, or until a back-off (100 ms, doubling to 2 s) has passed: sshd may have refused only
   * because it had not yet let go of a channel of ours that had just closed (the connection
   * check's, say), and a command should not wait for a long one to end for that. With none open
   * the caller backs off itself before asking again.
   */
  refused(): void {
    this.open = Math.max(0, this.open - 1);
    this.learned = Math.max(1, this.open);
    const wait = Math.min(2_000, 100 * 2 ** Math.min(this.refusalsInRow++, 5));
    if (this.retest) clearTimeout(this.retest);
    this.retest = setTimeout(() => {
      this.retest = null;
      this.learned = null;
      this.pump();
    }, wait);
    this.retest.unref?.();
    this.pump();
  }

  /** The connection is gone: every waiter fails with GateClosedError, later acquires too. */
  close(): void {
    this.closed = true;
    if (this.retest) clearTimeout(this.retest);
    this.retest = null;
    for (const w of [...this.queue]) w.fail(new GateClosedError());
  }

  /** The connection is idle: what a refusal taught no longer holds. */
  private forget(): void {
    this.learned = null;
    this.refusalsInRow = 0;
    if (this.retest) clearTimeout(this.retest);
    this.retest = null;
  }

  private pump(): void {
    while (!this.closed && this.queue.length > 0 && this.open < this.limit) this.queue[0]!.grant();
  }
}
