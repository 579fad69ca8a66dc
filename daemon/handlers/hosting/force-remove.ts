// A force terminate's removals (seed 000: it removes what it can on every reachable server and
// lists the rest): each holding's terminate step, run once by its own handler, on its own server.
// What cannot be removed (the node is down, it refuses) is written to the log with the reason and
// reported as left ({ removed: false }, read by services/leftovers.ts), so one dead node neither
// stops the others' cleanup nor the close that lists it.
import type { TaskContext, TaskRegistry } from '../../engine/registry.ts';
import { TerminalError } from '../../common/errors.ts';
import { serverRefs } from '../../fleet/inventory.ts';
import { planServerIds, removalSteps } from '../../pipelines/plan.ts';
import { registerStep } from '../step-args.ts';
import { loadService, type HostingDeps } from './context.ts';

export function registerForceRemoveHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'service.force-remove', 'Runs one terminate removal once for a force terminate; what it cannot remove is reported as left.', async (ctx, a) => {
    const svc = await loadService(deps, ctx);
    const servers = await serverRefs(deps.db, planServerIds(svc.plan));
    const what = `${a.role} on ${servers.get(a.server)?.name ?? `server #${a.server}`}`;
    // The step as the terminate plans it now, from the service's stored plan.
    const inner = servers.has(a.server)
      ? removalSteps({ ...svc.plan, placement: { ...svc.plan.placement, dns: svc.plan.placement.dns.filter((id) => servers.has(id)) } }, servers)
        .find((s) => s.step === a.remove && s.target === `server:${a.server}`)
      : undefined;
    if (!inner) {
      ctx.log(`could not remove ${what}: the server or the service's ${a.remove} step is no longer known; left for cleanup`);
      return { role: a.role, server: a.server, removed: false, reason: 'unknown server or step' };
    }
    const handler = registry.get(inner.type);
    if (!handler) throw new TerminalError(`no handler for ${inner.type}`);
    const innerCtx: TaskContext = {
      task: { ...ctx.task, type: inner.type, step: inner.step, args: inner.args },
      log: (line) => ctx.log(line), secret: (v) => ctx.secret(v), signal: ctx.signal,
    };
    try {
      await handler.run(innerCtx);
    } catch (err) {
      // The lease is gone: this attempt is no longer ours to report.
      if (ctx.signal.aborted) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      ctx.log(`could not remove ${what}: ${reason}; left for cleanup`);
      return { role: a.role, server: a.server, removed: false, reason: reason.slice(0, 300) };
    }
    ctx.log(`removed ${what}`);
    return { role: a.role, server: a.server, removed: true };
  }, { maxAttempts: 3 });
}
