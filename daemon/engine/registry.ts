// Task types: what a task of each type runs, and its retry policy.
import type { RetryPolicy } from './retry.ts';
import { checkPolicy } from './retry.ts';

export interface TaskInfo {
  id: number;
  chainId: number | null;
  stepNo: number;
  serviceId: number | null;
  operation: string;
  step: string;
  type: string;
  target: string | null;
  args: unknown;
  /** 1 for the first attempt. */
  attempt: number;
}

export interface TaskContext {
  task: TaskInfo;
  /** Appends a line to this attempt's log (secrets masked) and to any live listener. */
  log(line: string): void;
  /** Declares a value that must be masked wherever this attempt's output goes. */
  secret(value: string | null | undefined): void;
  /** Aborted when the daemon loses the task's lease or stops: stop work, the task is no longer ours. */
  signal: AbortSignal;
}

export interface TaskType {
  name: string;
  description: string;
  policy?: Partial<RetryPolicy>;
  run(ctx: TaskContext): Promise<unknown>;
}

export class TaskRegistry {
  private readonly types = new Map<string, TaskType>();

  register(type: TaskType): this {
    if (!/^[a-z][a-z0-9_.-]{0,63}$/.test(type.name)) throw new Error(`task type name "${type.name}" must be lower-case letters, digits, ".", "_" or "-", up to 64`);
    if (this.types.has(type.name)) throw new Error(`task type ${type.name} is registered twice`);
    this.types.set(type.name, type);
    return this;
  }

  get(name: string): TaskType | undefined {
    return this.types.get(name);
  }

  names(): string[] {
    return [...this.types.keys()];
  }

  policyFor(name: string, defaults: RetryPolicy, maxAttemptsOverride?: number | null): RetryPolicy {
    const p = { ...defaults, ...(this.types.get(name)?.policy ?? {}) };
    if (maxAttemptsOverride !== null && maxAttemptsOverride !== undefined) p.maxAttempts = maxAttemptsOverride;
    return checkPolicy(p, `task type ${name}`);
  }
}
