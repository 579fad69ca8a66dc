// ssl-check: automatic SSL's worker (daemon/ssl/worker.ts). Checks the certificate rows that are
// due — DNS of the names against the role's server, then a TLS probe of that server — and queues a
// Let's Encrypt request (ssl.issue) where the names point at the server but no valid certificate
// is served. Interval: scheduler.ssl-check.interval_s (30 s); the rows' own cadence is Settings → SSL.
import type { Job, JobDeps } from '../scheduler.ts';
import { sslSettingsFrom } from '../../ssl/cadence.ts';
import { runSslChecks } from '../../ssl/worker.ts';

export function sslCheckJob({ db, settings, onWork }: Pick<JobDeps, 'db' | 'settings' | 'onWork'>): Job {
  return {
    name: 'ssl-check',
    describe: 'Checks the SSL certificates that are due (DNS, then a TLS probe) and requests Let\'s Encrypt certificates where needed (Settings → SSL)',
    defaultIntervalS: 30,
    // A run is bounded: 50 rows, 8 at a time, each within the DNS and probe timeouts.
    lockTtlMs: 5 * 60_000,
    async run(ctx) {
      const s = sslSettingsFrom(settings.get());
      if (!s.enabled) return 'automatic SSL is off (ssl.enabled)';
      const r = await runSslChecks({ db, settings: s }, ctx.log);
      if (r.requested) onWork();
      return r.checked === 0 ? 'no certificate due' : `checked ${r.checked}: ${r.issued} valid, ${r.waiting} waiting for DNS, ${r.requested} request(s) queued${r.errors ? `, ${r.errors} check error(s)` : ''}`;
    },
  };
}
