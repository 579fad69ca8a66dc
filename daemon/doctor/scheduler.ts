// The scheduler check of hostbridge doctor: from the jobs table, whether some daemon (or WHMCS
// cron's tick) runs the recurring jobs: each job's last start against its interval, locks left by
// a daemon that stopped, and jobs whose last run failed.
import type { Knex } from 'knex';
import { dbNow } from '../db/connect.ts';
import { readSettings } from '../settings/settings.ts';
import { T } from '../common/tables.ts';
import { fail, ok, warn, within, type CheckResult } from './check.ts';

const NAME = 'scheduler';
/** Late beyond two intervals and this: a pass was missed, not just running a little behind. */
const GRACE_MS = 120_000;

const ago = (ms: number) => (ms < 120_000 ? `${Math.round(ms / 1000)} s` : ms < 7_200_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 3_600_000)} h`);

export async function checkScheduler(db: Knex, timeoutMs: number): Promise<CheckResult> {
  return within(timeoutMs, async () => {
    const [rows, settings, now] = await Promise.all([db(T.jobs).select('*'), readSettings(db), dbNow(db)]);
    const jobs = (rows as Array<Record<string, unknown>>).map((r) => ({
      name: String(r.name), started: r.last_started_at === null ? null : Number(r.last_started_at),
      result: r.last_result as string | null, message: r.last_message as string | null,
      lockedBy: r.locked_by as string | null, lockedUntil: r.locked_until === null ? null : Number(r.locked_until),
      intervalS: Number(settings[`scheduler.${String(r.name)}.interval_s`]) || 60,
    }));
    const ran = jobs.filter((j) => j.started !== null);
    if (ran.length === 0) {
      return warn(NAME, 'no scheduler pass has run on this database yet', 'start the daemon ("hostbridge serve", or its systemd unit); WHMCS cron\'s tick (the addon\'s AfterCronJob hook) runs passes too');
    }
    const late = ran.filter((j) => now - j.started! > 2 * j.intervalS * 1000 + GRACE_MS);
    if (late.length) {
      return fail(NAME, `not running: ${late.map((j) => `${j.name} last ran ${ago(now - j.started!)} ago (every ${j.intervalS} s)`).join('; ')}`,
        'start a daemon ("hostbridge serve", or systemctl start hostbridge): every daemon runs the scheduler; look at its log if one is running');
    }
    const stale = jobs.filter((j) => j.lockedBy && j.lockedUntil !== null && j.lockedUntil < now);
    if (stale.length) {
      return warn(NAME, `${stale.map((j) => `${j.name} is locked by ${j.lockedBy}, whose lock ran out`).join('; ')}`, 'if that daemon is gone: hostbridge clear-locks');
    }
    const failed = ran.filter((j) => j.result === 'error');
    if (failed.length) {
      return warn(NAME, `running, but the last run failed: ${failed.map((j) => `${j.name}: ${(j.message ?? '').slice(0, 200)}`).join('; ')}`, 'see "hostbridge jobs" and the daemon log; "hostbridge run-task <job>" runs one now with its output');
    }
    const newest = Math.max(...ran.map((j) => j.started!));
    return ok(NAME, `running: ${ran.length} job(s) on time, the last pass ${ago(now - newest)} ago`);
  });
}
