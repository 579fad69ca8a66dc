// Injected faults. Each one matches requests by method and path and is used up after `count`
// matches; 'task-fail' is used up by the next matching request that forks a task.
import type { FaultSpec } from './types.ts';

interface Armed extends FaultSpec { left: number }

export class Faults {
  private list: Armed[] = [];

  add(f: FaultSpec): void {
    if (!(f.path instanceof RegExp)) throw new TypeError('fault.path must be a RegExp');
    this.list.push({ ...f, left: f.count ?? 1 });
  }

  /** The first armed fault of one of `kinds` matching this request, consumed once. */
  take(method: string, path: string, kinds: ReadonlyArray<FaultSpec['kind']>): FaultSpec | undefined {
    const i = this.list.findIndex((f) => kinds.includes(f.kind) && (!f.method || f.method.toUpperCase() === method) && f.path.test(path));
    if (i < 0) return undefined;
    const f = this.list[i]!;
    if (--f.left <= 0) this.list.splice(i, 1);
    return f;
  }
}
