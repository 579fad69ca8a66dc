// /nodes/{node}/tasks: the list, one task's status and log, and stopping a task. A task is only
// known on the node that ran it (its log file lives there).
import { ApiError, paramError } from './errors.ts';
import type { Ctx } from './context.ts';
import { Reply, type Router } from './http.ts';
import { NODE, opt, validate } from './schema.ts';
import { type Task, taskInfo } from './tasks.ts';

export function taskRoutes(r: Router, ctx: Ctx): void {
  const find = (node: string, upid: string): Task => {
    if (!/^UPID:[^:]+:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:[^:]+:[^:]*:[^:]+:$/.test(upid)) paramError({ upid: 'unable to parse worker upid' });
    const t = ctx.tasks.get(upid);
    if (!t || t.node !== node) paramError({ upid: 'no such task' });
    return t;
  };

  r.add('GET', '/nodes/{node}/tasks/{upid}/status', (req) => {
    const p = validate({ node: NODE, upid: { type: 'string' } }, req.params);
    return taskInfo(find(String(p.node), String(p.upid)));
  });

  r.add('GET', '/nodes/{node}/tasks/{upid}/log', (req) => {
    const p = validate({ node: NODE, upid: { type: 'string' }, start: opt({ type: 'integer', min: 0 }), limit: opt({ type: 'integer', min: 0 }), download: opt({ type: 'boolean' }) }, req.params);
    const upid = String(p.upid);
    if (!/^UPID:/.test(upid)) paramError({ upid: 'unable to parse worker upid' });
    const t = ctx.tasks.get(upid);
    // dump_logfile on a missing file: one line saying so (what polling the wrong node shows).
    const lines = t && t.node === p.node ? t.lines : ['unable to open file - No such file or directory'];
    const start = Number(p.start ?? 0);
    const limit = Number(p.limit ?? 50);
    const page = lines.slice(start, start + limit).map((text, i) => ({ n: start + i + 1, t: text }));
    return new Reply(page, { total: lines.length });
  });

  r.add('GET', '/nodes/{node}/tasks/{upid}', (req) => {
    const p = validate({ node: NODE, upid: { type: 'string' } }, req.params);
    find(String(p.node), String(p.upid));
    return [{ name: 'log' }, { name: 'status' }];
  });

  r.add('DELETE', '/nodes/{node}/tasks/{upid}', (req) => {
    const p = validate({ node: NODE, upid: { type: 'string' } }, req.params);
    ctx.tasks.stop(find(String(p.node), String(p.upid)));
    return null;
  });

  r.add('GET', '/nodes/{node}/tasks', (req) => {
    const p = validate({
      node: NODE, start: opt({ type: 'integer', min: 0 }), limit: opt({ type: 'integer', min: 0 }), vmid: opt({ type: 'integer', min: 100 }),
      typefilter: opt({ type: 'string' }), userfilter: opt({ type: 'string' }), errors: opt({ type: 'boolean' }),
      source: opt({ type: 'string', enum: ['archive', 'active', 'all'] }), since: opt({ type: 'integer' }), until: opt({ type: 'integer' }),
      statusfilter: opt({ type: 'string' }),
    }, req.params);
    if (!ctx.cluster.nodes.has(String(p.node))) throw new ApiError(500, `no such cluster node '${p.node}'`);
    const source = String(p.source ?? 'archive');
    let start = Number(p.start ?? 0);
    let limit = Number(p.limit ?? 50);
    const status = (t: Task) => (t.status === 'running' ? 'RUNNING' : t.exitstatus!);
    const kind = (t: Task) => (t.status === 'running' ? 'unknown' : t.exitstatus === 'OK' ? 'ok' : t.exitstatus!.startsWith('WARNINGS') ? 'warning' : 'error');
    const statusfilter = p.statusfilter ? new Set(String(p.statusfilter).split(/[,;\s]+/).map((s) => s.toLowerCase())) : undefined;
    const all = ctx.tasks.all().filter((t) => t.node === p.node).sort((a, b) => b.starttime - a.starttime || b.pid - a.pid);
    const candidates = [
      ...(source !== 'archive' ? all.filter((t) => t.status === 'running') : []),
      ...(source !== 'active' ? all.filter((t) => t.status === 'stopped') : []),
    ];
    let count = 0;
    const out: Array<Record<string, unknown>> = [];
    for (const t of candidates) {
      if (p.userfilter && !t.user.toLowerCase().includes(String(p.userfilter).toLowerCase())) continue;
      if (p.typefilter && t.type !== p.typefilter) continue;
      if (p.vmid && t.id !== String(p.vmid)) continue;
      if (p.since !== undefined && t.starttime < Number(p.since)) continue;
      if (p.until !== undefined && t.starttime > Number(p.until)) continue;
      if (p.errors && kind(t) === 'ok') continue;
      if (statusfilter && !statusfilter.has(kind(t))) continue;
      count++;
      if (start > 0) { start--; continue; }
      if (limit <= 0) continue;
      limit--;
      const e: Record<string, unknown> = { upid: t.upid, node: t.node, pid: t.pid, pstart: t.pstart, starttime: t.starttime, type: t.type, id: t.id, user: t.user, status: status(t) };
      if (t.endtime !== undefined) e.endtime = t.endtime;
      out.push(e);
    }
    return new Reply(out, { total: count });
  });
}
