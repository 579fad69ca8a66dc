// server.check: reads a server's state (HestiaCP: v-list-sys-info and the cpu/memory/disk status
// commands; PowerDNS: its server object), run as a task so it waits its turn behind the node's
// other commands. A failure is recorded, not retried: the next check comes with the next interval.
// A status command that fails or prints an unknown layout only leaves its figure empty.
import type { TaskRegistry } from '../../engine/registry.ts';
import type { HostingDeps } from './context.ts';
import { registerStep } from '../step-args.ts';
import { T } from '../../common/tables.ts';


interface HealthRow {
  server_id: number; ok: boolean; version: string | null; os: string | null; load: string | null; uptime_min: number | null;
  cpus: number | null; cpu_pct: number | null; mem_total_mb: number | null; mem_used_mb: number | null;
  disk_size: string | null; disk_used: string | null; disk_pct: number | null;
  error: string | null; checked_at: number;
}

export function registerHealthHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'server.check', 'Reads a server\'s version, OS, load, uptime, CPU, RAM and disk use, and records whether it answered.', async (ctx, a) => {
    const server = await deps.fleet.server(a.server);
    const row: HealthRow = {
      server_id: server.id, ok: true, version: null, os: null, load: null, uptime_min: null,
      cpus: null, cpu_pct: null, mem_total_mb: null, mem_used_mb: null, disk_size: null, disk_used: null, disk_pct: null,
      error: null, checked_at: Date.now(),
    };
    try {
      if (server.driver === 'powerdns') {
        const { client } = await deps.fleet.powerdns(server.id, ctx);
        const h = await client.health();
        row.version = `PowerDNS ${h.version}`;
      } else {
        const { driver } = await deps.fleet.hestia(server.id, ctx);
        const info = await driver.listSysInfo();
        row.version = info.HESTIA ? `HestiaCP ${info.HESTIA}` : null;
        row.os = [info.OS, info.VERSION].filter(Boolean).join(' ') || null;
        row.load = info.LOADAVERAGE ?? null;
        row.uptime_min = Number.isFinite(Number(info.UPTIME)) ? Number(info.UPTIME) : null;
        const missed: string[] = [];
        const cpu = await driver.cpuStatus().catch((err: Error) => { missed.push(`cpu (${err.message})`); return null; });
        const mem = await driver.memoryStatus().catch((err: Error) => { missed.push(`memory (${err.message})`); return null; });
        const disk = await driver.diskStatus().catch((err: Error) => { missed.push(`disk (${err.message})`); return null; });
        row.cpus = cpu?.cpus ?? null;
        row.cpu_pct = cpu?.busyPct ?? null;
        row.mem_total_mb = mem ? Math.round(mem.totalMb) : null;
        row.mem_used_mb = mem ? Math.round(mem.usedMb) : null;
        row.disk_size = disk?.size ?? null;
        row.disk_used = disk?.used ?? null;
        row.disk_pct = disk?.usedPct ?? null;
        if (missed.length) ctx.log(`${server.name}: no figure for ${missed.join(', ')}`);
      }
    } catch (err) {
      row.ok = false;
      row.error = (err as Error).message.slice(0, 1000);
    }
    await deps.db(T.serverHealth).insert(row).onConflict('server_id').merge();
    const figures = [row.load && `load ${row.load}`, row.cpu_pct !== null && `CPU ${row.cpu_pct}%`,
      row.mem_total_mb && `RAM ${row.mem_used_mb}/${row.mem_total_mb} MB`, row.disk_pct !== null && `disk ${row.disk_pct}%`].filter(Boolean);
    ctx.log(row.ok ? `${server.name}: ${row.version ?? 'answered'}${figures.length ? `, ${figures.join(', ')}` : ''}` : `${server.name} did not answer: ${row.error}`);
    return { ok: row.ok };
  }, { maxAttempts: 1 });
}
