// Automatic SSL's two steps. `ssl.seed` (the deploy's last step per role) writes the role's
// certificate row with its names, so the ssl-check job checks it at once in fast mode.
// `ssl.issue` (queued by that job) requests the certificate with HestiaCP's Let's Encrypt command:
// it checks first (a valid certificate for the names already installed: done), then runs
// v-add-letsencrypt-domain and verifies what HestiaCP installed.
//
// A refusal by Let's Encrypt or by HestiaCP's own DNS check (exit 15, or 3 "DNS record for X doesn't
// exist") is an SSL failure, not a task failure: it is counted on the row (the rate-limit guard
// freezes the row after ssl.freeze_after of them) and the task ends without the engine's back-off —
// retrying at once would only spend Let's Encrypt's rate limit — and without a failure ticket per
// attempt (the ticket hook fires for every failed task). The attempt's log says "refused" and why,
// the row says failed or frozen; the admin reads both on the SSL tab. A transport error (SSH down)
// stays a normal retryable error.
import type { TaskRegistry } from '../../engine/registry.ts';
import { errorMessage, TerminalError } from '../../common/errors.ts';
import { hasHestiaCode, isHestiaError } from '../../drivers/hestia/index.ts';
import { readSettings } from '../../settings/settings.ts';
import { afterFailure, afterIssued, certificateNames, sslSettingsFrom, type SslRole } from '../../ssl/cadence.ts';
import { recordIssue, seedSslRow, sslRow } from '../../ssl/state.ts';
import { loadService, type HostingDeps } from './context.ts';
import { registerStep } from '../step-args.ts';

const DAY = 86_400_000;

/** Whether a certificate's names cover every wanted name (a wildcard covers one label). */
export function coversNames(certNames: readonly string[], wanted: readonly string[]): boolean {
  const have = certNames.map((n) => n.toLowerCase());
  return wanted.every((w) => {
    const name = w.toLowerCase();
    return have.includes(name) || have.some((h) => h.startsWith('*.') && name.split('.').slice(1).join('.') === h.slice(2));
  });
}

/** HestiaCP's refusal of a certificate request: its ACME run failed, or a name does not resolve. */
function isSslRefusal(err: unknown): boolean {
  if (hasHestiaCode(err, 'E_CONNECT')) return true;
  return hasHestiaCode(err, 'E_NOTEXIST') && /DNS record for .* doesn't exist/.test(err.errorLine ?? '');
}

export function registerSslHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'ssl.seed', 'Sets up automatic SSL for one role: records the certificate\'s names so the ssl-check job checks them and requests a Let\'s Encrypt certificate once they resolve to the server.', async (ctx, a) => {
    const role: SslRole = a.role ?? 'web';
    const [svc, { driver, server }] = await Promise.all([loadService(deps, ctx), deps.fleet.hestia(a.server, ctx)]);
    let names: string[];
    let issued: boolean;
    if (role === 'web') {
      const d = (await driver.listWebDomains(a.user))[a.domain];
      if (!d) throw new TerminalError(`web domain ${a.domain} is missing under ${a.user}; the web step must run first`);
      names = certificateNames('web', a.domain, { aliases: (d.ALIAS ?? '').split(',').map((s) => s.trim()).filter(Boolean) });
      issued = d.SSL === 'yes';
    } else {
      const d = (await driver.listMailDomains(a.user))[a.domain];
      if (!d) throw new TerminalError(`mail domain ${a.domain} is missing under ${a.user}; the mail step must run first`);
      names = certificateNames('mail', a.domain, { webmail: d.WEBMAIL && d.WEBMAIL_ALIAS ? d.WEBMAIL_ALIAS : null });
      issued = d.SSL === 'yes';
    }
    await seedSslRow(deps.db, { serviceId: svc.id, role, names, serverId: server.id, user: a.user, issued, now: Date.now() });
    ctx.log(`automatic SSL set up for ${names.join(', ')}: checked now and again until a certificate is served${issued ? ' (one is installed already)' : ''}`);
    return { role, names, issued };
  });

  registerStep(registry, 'ssl.issue', 'Requests a Let\'s Encrypt certificate for one role with HestiaCP\'s command, unless a valid one for its names is installed; a refusal counts towards the freeze.', async (ctx, a) => {
    const svc = await loadService(deps, ctx);
    const names = a.names.split(',').filter(Boolean);
    const key = { serviceId: svc.id, domain: names[0]! };
    const row = await sslRow(deps.db, svc.id, key.domain);
    if (!row) return ctx.log(`no SSL row for ${key.domain} any more: nothing to request`), { skipped: 'no row' };
    if (row.state === 'custom') return ctx.log(`${key.domain} has a custom certificate: automatic SSL leaves it alone`), { skipped: 'custom' };
    const s = sslSettingsFrom(await readSettings(deps.db));
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    const info = () => (a.role === 'web' ? driver.webSslInfo(a.user, a.domain) : driver.mailSslInfo(a.user, a.domain));
    const good = (i: Awaited<ReturnType<typeof info>>, now: number) => i !== null && coversNames(i.names, names)
      && i.notBefore.getTime() <= now && i.notAfter.getTime() > now + s.renewBeforeDays * DAY;

    const before = await info();
    if (good(before, Date.now())) {
      const now = Date.now();
      await recordIssue(deps.db, key, { ...afterIssued(s, now), now, lastResult: `a valid certificate for ${names.join(', ')} is installed (until ${before!.notAfter.toISOString().slice(0, 10)})`, lastError: null, notAfter: before!.notAfter.getTime(), issuer: before!.issuer });
      ctx.log(`a valid certificate for ${names.join(', ')} is installed on ${server.name} until ${before!.notAfter.toISOString()}: nothing to request`);
      return { issued: true, requested: false };
    }
    ctx.log(before ? `installed certificate (${before.names.join(', ')}, until ${before.notAfter.toISOString().slice(0, 10)}) is to be replaced` : `no certificate installed for ${a.domain}${a.role === 'mail' ? ' mail' : ''}`);
    try {
      await driver.addLetsEncrypt(a.user, a.domain, a.role === 'web' ? { aliases: names.slice(1) } : { mail: true });
    } catch (err) {
      const now = Date.now();
      const line = isHestiaError(err) ? (err.errorLine ?? err.message) : errorMessage(err);
      if (!isSslRefusal(err)) {
        // Not counted towards the freeze: the engine retries (transport) or fails the task (anything else).
        await recordIssue(deps.db, key, { state: row.state, failures: row.failures, frozenUntil: row.frozenUntil, nextCheckAt: row.nextCheckAt, now, lastResult: `certificate request did not run: ${line}`, lastError: line });
        throw err;
      }
      const d = afterFailure(row, s, now);
      const result = d.state === 'frozen'
        ? `Let's Encrypt refused (${d.failures} failures in a row): frozen until ${new Date(d.frozenUntil!).toISOString()}`
        : `Let's Encrypt refused (failure ${d.failures} of ${s.freezeAfter} before a ${s.freezeHours} h freeze)`;
      await recordIssue(deps.db, key, { ...d, now, lastResult: `${result}: ${line}`, lastError: line });
      ctx.log(`refused: ${line}`);
      ctx.log(`${result}; not retried by the queue (Let's Encrypt rate limits): the ssl-check job tries again on its cadence`);
      return { issued: false, refused: line, failures: d.failures, frozen_until: d.frozenUntil };
    }
    const after = await info();
    const now = Date.now();
    if (!after || !coversNames(after.names, names)) {
      throw new TerminalError(`HestiaCP reported success but ${server.name} holds ${after ? `a certificate for ${after.names.join(', ')}` : 'no certificate'} for ${a.domain}, not one for ${names.join(', ')}`);
    }
    await recordIssue(deps.db, key, { ...afterIssued(s, now), now, lastResult: `issued by ${after.issuer}, valid until ${after.notAfter.toISOString().slice(0, 10)}`, lastError: null, notAfter: after.notAfter.getTime(), issuer: after.issuer });
    ctx.log(`certificate for ${names.join(', ')} issued by ${after.issuer}, valid until ${after.notAfter.toISOString()}`);
    return { issued: true, requested: true, not_after: after.notAfter.toISOString() };
  });
}
