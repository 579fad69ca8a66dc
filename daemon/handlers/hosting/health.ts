// server.check: one read per server (v-list-sys-info, or the PowerDNS server object), run as a
// task so it waits its turn behind the node's other commands. A failure is recorded, not retried:
// the next check comes with the next interval.
import type { TaskRegistry } from '../../engine/registry.ts';
import { args, type HostingDeps } from './context.ts';

export const HEALTH = 'mod_hostbridge_server_health';

export function registerHealthHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registry.register({
    name: 'server.check',
    description: 'Reads a server\'s version, OS, load and uptime, and records whether it answered.',
    policy: { maxAttempts: 1 },
    async run(ctx) {
      const a = args<{ server: number }>(ctx);
      const server = await deps.fleet.server(a.server);
      const row = { server_id: server.id, ok: true, version: null as string | null, os: null as string | null, load: null as string | null, uptime_min: null as number | null, error: null as string | null, checked_at: Date.now() };
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
        }
      } catch (err) {
        row.ok = false;
        row.error = (err as Error).message.slice(0, 1000);
      }
      await deps.db(HEALTH).insert(row).onConflict('server_id').merge();
      ctx.log(row.ok ? `${server.name}: ${row.version ?? 'answered'}${row.load ? `, load ${row.load}` : ''}` : `${server.name} did not answer: ${row.error}`);
      return { ok: row.ok };
    },
  });
}
