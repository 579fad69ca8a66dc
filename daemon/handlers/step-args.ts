// The typed read of a planned task's arguments (pipelines/steps.ts declares them): a handler gets
// exactly the fields its type declares, checked at run time too, so a task written by another
// version fails with a reason naming the field rather than running on an undefined value.
import { TerminalError } from '../common/errors.ts';
import type { TaskContext, TaskRegistry } from '../engine/registry.ts';
import type { RetryPolicy } from '../engine/retry.ts';
import { stepArgsProblem, type StepArgs, type StepType } from '../pipelines/steps.ts';

export function stepArgs<K extends StepType>(ctx: TaskContext, type: K): StepArgs[K] {
  if (ctx.task.type !== type) throw new TerminalError(`a ${ctx.task.type} task was given to the handler of ${type}`);
  const problem = stepArgsProblem(type, ctx.task.args);
  if (problem) throw new TerminalError(`the task's arguments ${problem} (was it queued by another version of hostbridge?)`);
  return ctx.task.args as StepArgs[K];
}

/**
 * Registers the handler of a planned step type: the task type is the step type, and the handler
 * gets its arguments already read and checked with stepArgs.
 */
export function registerStep<K extends StepType>(
  registry: TaskRegistry, type: K, description: string,
  run: (ctx: TaskContext, args: StepArgs[K]) => Promise<unknown>, policy?: Partial<RetryPolicy>,
): void {
  registry.register({ name: type, description, ...(policy ? { policy } : {}), run: (ctx) => run(ctx, stepArgs(ctx, type)) });
}
