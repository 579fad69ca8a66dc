// Settings: retry policy, the task queue, failure tickets (secrets show only "set" / "not set"),
// scheduled-job intervals with each job's last run and lock, and the admin password. Every value
// is checked before anything is written, and all are written in one transaction through
// writeSetting, so a form with one bad value changes nothing.
import type { Request, Response, Router } from 'express';
import type { Knex } from 'knex';
import { readSecretSetting, readSettings, SETTING_DEFINITIONS, SettingError, writeSetting } from '../../settings/settings.ts';
import { checkAdminPassword, createSession, passwordProblem, setAdminPassword } from '../auth.ts';
import { back, page, requireAdmin, setFlash, setSessionCookie, wrap } from '../http.ts';
import type { PageDeps } from '../deps.ts';

const SECTIONS: Array<{ title: string; prefix: string[] }> = [
  { title: 'Retry policy', prefix: ['retry.'] },
  { title: 'Task queue', prefix: ['queue.'] },
  { title: 'Operation Log', prefix: ['oplog.'] },
  { title: 'Failure tickets', prefix: ['tickets.', 'whmcs.'] },
  { title: 'SSL', prefix: ['ssl.'] },
  { title: 'Scheduled jobs', prefix: ['scheduler.'] },
];

const shown = (key: string) => !SETTING_DEFINITIONS[key]!.hidden;

export function addSettingsPages(r: Router, deps: PageDeps): void {
  const { db } = deps;

  const render = async (req: Request, res: Response, o: { errors?: string[]; entered?: Record<string, string>; passwordError?: string | null } = {}, status = 200) => {
    const values = await readSettings(db);
    const jobs = await deps.scheduler.status();
    const sections = [];
    for (const s of SECTIONS) {
      const items = [];
      for (const [key, def] of Object.entries(SETTING_DEFINITIONS)) {
        if (!shown(key) || !s.prefix.some((p) => key.startsWith(p))) continue;
        let isSet: boolean | null = null;
        if (def.secret) {
          try {
            isSet = (await readSecretSetting(db, key, deps.masterKey)) !== '';
          } catch {
            isSet = true; // stored, but not readable with this master key: still "set", never shown
          }
        }
        items.push({
          key, describe: def.describe, secret: !!def.secret, isSet, value: def.secret ? '' : (o.entered?.[key] ?? values[key]), default: def.default,
          bool: !def.secret && (def.default === 'true' || def.default === 'false'),
        });
      }
      sections.push({ title: s.title, items });
    }
    await page(deps, req, res, 'admin-settings', {
      title: 'Settings', nav: 'settings', sections, errors: o.errors ?? [], passwordError: o.passwordError ?? null,
      jobs: jobs.map((j) => ({ ...j, locked: j.lockedBy !== null && j.lockedUntil !== null })),
    }, status);
  };

  r.get('/admin/settings', wrap(async (req, res) => {
    requireAdmin(req);
    await render(req, res);
  }));

  r.post('/admin/settings', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const current = await readSettings(db);
    const changes: Record<string, string> = {};
    const entered: Record<string, string> = {};
    const errors: string[] = [];
    for (const [key, def] of Object.entries(SETTING_DEFINITIONS)) {
      if (!shown(key)) continue;
      const raw = body[key];
      if (raw === undefined) continue;
      const value = (Array.isArray(raw) ? String(raw[raw.length - 1]) : String(raw)).trim();
      if (def.secret) {
        if (body[`clear:${key}`] === 'on') changes[key] = '';
        else if (value !== '') changes[key] = value;
        continue;
      }
      entered[key] = value;
      if (value !== current[key]) changes[key] = value;
    }
    for (const [key, value] of Object.entries(changes)) {
      const def = SETTING_DEFINITIONS[key]!;
      const problem = def.check(value);
      if (problem) errors.push(`${key}: ${problem}${def.secret ? '' : ` (got "${value.slice(0, 80)}")`}`);
    }
    const base = Number(changes['retry.base_ms'] ?? current['retry.base_ms']);
    const cap = Number(changes['retry.cap_ms'] ?? current['retry.cap_ms']);
    if (!errors.length && cap < base) errors.push(`retry.cap_ms (${cap}) must not be below retry.base_ms (${base})`);
    if (errors.length) return render(req, res, { errors: [...errors, 'Nothing was saved.'], entered }, 422);
    const keys = Object.keys(changes);
    // base and cap are checked against each other as each is written: write them in an order that passes.
    const first = Number(changes['retry.base_ms'] ?? -1) > Number(current['retry.cap_ms']) ? 'retry.cap_ms' : 'retry.base_ms';
    keys.sort((a, b) => (a === first ? -1 : b === first ? 1 : 0));
    try {
      await db.transaction(async (trx) => {
        for (const k of keys) await writeSetting(trx as unknown as Knex, k, changes[k]!, deps.masterKey);
      });
    } catch (err) {
      if (err instanceof SettingError) return render(req, res, { errors: [err.message, 'Nothing was saved.'], entered }, 422);
      throw err;
    }
    await setFlash(db, s, keys.length ? `Saved ${keys.length} setting(s): ${keys.join(', ')}. Running daemons pick them up within 30 seconds.` : 'Nothing changed.');
    back(res, '/ui/admin/settings');
  }));

  r.post('/admin/password', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const [current, next, again] = ['current', 'new', 'again'].map((k) => (typeof body[k] === 'string' ? (body[k] as string) : ''));
    const fail = (msg: string) => render(req, res, { passwordError: `${msg} The password was not changed.` }, 422);
    if (s.via === 'password' || current !== '') {
      if (!(await checkAdminPassword(db, current!))) return fail('The current password is not right.');
    }
    const problem = passwordProblem(next!);
    if (problem) return fail(problem.charAt(0).toUpperCase() + problem.slice(1) + '.');
    if (next !== again) return fail('The two new passwords differ.');
    await setAdminPassword(db, next!);
    if (s.via === 'whmcs') {
      // In WHMCS there is no daemon session to replace: the WHMCS admin stays where they are.
      await setFlash(db, s, 'The daemon\'s admin password was changed; its password sessions were logged out.');
      return back(res, '/ui/admin/settings');
    }
    // Setting the password ends every password session, this one included: start a fresh one.
    const { token, session } = await createSession(db, 'admin', 'password');
    setSessionCookie(req, res, token, 'admin');
    await setFlash(db, session, 'The admin password was changed; other admin sessions were logged out.');
    back(res, '/ui/admin/settings');
  }));
}
