// The automatic-SSL cadence, pure: fast mode then the normal interval, the active interval once a
// valid certificate is served, a renewal near expiry, and the rate-limit freeze and its end.
import test from 'node:test';
import assert from 'node:assert/strict';
import { afterCheck, afterFailure, afterIssued, certificateNames, hestiaDomainOf, isCheckable, sslSettingsFrom, type CadenceRow, type CheckFinding } from '../../daemon/ssl/cadence.ts';
import { SETTING_DEFINITIONS } from '../../daemon/settings/settings.ts';

const defaults = Object.fromEntries(Object.entries(SETTING_DEFINITIONS).map(([k, d]) => [k, d.default]));
const s = sslSettingsFrom(defaults);
const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const DAY = 86_400_000;
const fresh: CadenceRow = { state: 'waiting-dns', checks: 0, failures: 0, frozenUntil: null };
const noDns: CheckFinding = { dns: 'not-ok', reason: 'www.example.com resolves to 203.0.113.5, not 127.0.1.11' };
const valid = (notAfter: number): CheckFinding => ({ dns: 'ok', verdict: 'valid', detail: 'valid certificate', notAfter, issuer: 'CN=Test ACME' });

test('the settings\' defaults are the documented ones', () => {
  assert.deepEqual([s.enabled, s.fastChecks, s.fastIntervalS, s.normalIntervalS, s.activeIntervalS, s.renewBeforeDays, s.freezeAfter, s.freezeHours, s.probePort, s.probeTimeoutMs, s.resolver, s.extraCaFile],
    [true, 10, 60, 3600, 86400, 30, 5, 24, 443, 5000, '', '']);
  for (const key of ['ssl.fast_checks', 'ssl.freeze_after', 'ssl.probe_port', 'scheduler.ssl-check.interval_s']) assert.notEqual(SETTING_DEFINITIONS[key]!.check('abc'), null, key);
  // The same parser as the DNS check: resolvers by address only, so a saved value always works.
  assert.equal(SETTING_DEFINITIONS['ssl.resolver']!.check('127.0.0.1:5300, [::1]:53, 1.1.1.1'), null);
  assert.match(SETTING_DEFINITIONS['ssl.resolver']!.check('127.0.0.1:5300, ns.example.net')!, /"ns\.example\.net" is not an IP address/);
  assert.match(SETTING_DEFINITIONS['ssl.resolver']!.check('127.0.0.1:5300;x')!, /bad port/);
  assert.match(SETTING_DEFINITIONS['ssl.extra_ca_file']!.check('ca.pem')!, /absolute path/);
});

test('fast mode: the first fast_checks checks come fast_interval_s apart, then normal_interval_s', () => {
  let row = fresh;
  let now = T0;
  const gaps: number[] = [];
  for (let i = 0; i < 12; i++) {
    const d = afterCheck(row, noDns, s, now);
    assert.equal(d.state, 'waiting-dns');
    assert.equal(d.issue, false);
    assert.match(d.lastResult, /^DNS: www\.example\.com resolves to 203\.0\.113\.5/);
    gaps.push((d.nextCheckAt - now) / 1000);
    row = { ...row, state: d.state, checks: d.checks };
    now = d.nextCheckAt;
  }
  assert.deepEqual(gaps, [60, 60, 60, 60, 60, 60, 60, 60, 60, 3600, 3600, 3600]);
  assert.equal(row.checks, 12);
});

test('a valid certificate far from expiry: issued, next check on the active interval, what is served recorded', () => {
  const d = afterCheck(fresh, valid(T0 + 80 * DAY), s, T0);
  assert.deepEqual([d.state, d.issue, d.nextCheckAt - T0, d.notAfter, d.issuer], ['issued', false, 86_400_000, T0 + 80 * DAY, 'CN=Test ACME']);
});

test('DNS ok but no valid certificate, or one near expiry: a request, and a check later should it never run', () => {
  const selfSigned = afterCheck(fresh, { dns: 'ok', verdict: 'self-signed', detail: 'self-signed certificate for host.example', notAfter: T0 + 300 * DAY, issuer: 'CN=host' }, s, T0);
  assert.deepEqual([selfSigned.state, selfSigned.issue, selfSigned.nextCheckAt - T0], ['issuing', true, 60_000]);
  assert.match(selfSigned.lastResult, /self-signed certificate for host\.example; certificate requested/);
  const near = afterCheck({ ...fresh, state: 'issued', checks: 40 }, valid(T0 + 20 * DAY), s, T0);
  assert.deepEqual([near.state, near.issue], ['issuing', true]);
  assert.match(near.lastResult, /within 30 days: renewing/);
  // Just outside the window: kept.
  assert.equal(afterCheck({ ...fresh, state: 'issued', checks: 40 }, valid(T0 + 31 * DAY), s, T0).issue, false);
});

test('a successful request resets failures and moves to the active cadence', () => {
  assert.deepEqual(afterIssued(s, T0), { state: 'issued', failures: 0, frozenUntil: null, nextCheckAt: T0 + 86_400_000 });
});

test('five refused requests in a row freeze the row for freeze_hours; it is checked again when the window ends', () => {
  let row: CadenceRow = { ...fresh, checks: 3 };
  const states: string[] = [];
  let last = afterFailure(row, s, T0);
  for (let i = 0; i < 5; i++) {
    last = afterFailure(row, s, T0 + i);
    row = { ...row, state: last.state, failures: last.failures, frozenUntil: last.frozenUntil };
    states.push(last.state);
  }
  assert.deepEqual(states, ['failed', 'failed', 'failed', 'failed', 'frozen']);
  assert.equal(last.frozenUntil, T0 + 4 + 24 * 3_600_000);
  assert.equal(last.nextCheckAt, last.frozenUntil);
  assert.equal(isCheckable(row, T0 + 3_600_000), false, 'frozen inside the window');
  assert.equal(isCheckable(row, last.frozenUntil! + 1), true, 'checked again after it');
  // After the window a refusal freezes it again at once: the guard stays closed until a success.
  const again = afterFailure(row, s, last.frozenUntil! + 1);
  assert.equal(again.state, 'frozen');
  assert.equal(afterIssued(s, T0).failures, 0);
  assert.equal(isCheckable({ ...fresh, state: 'custom' }, T0), false, 'a custom certificate is left alone');
});

test('certificate names and the row key: web domain and aliases; mail.<d> and webmail.<d>', () => {
  assert.deepEqual(certificateNames('web', 'shop.example.com', { aliases: ['www.shop.example.com', 'shop.example.com'] }), ['shop.example.com', 'www.shop.example.com']);
  assert.deepEqual(certificateNames('mail', 'shop.example.com', { webmail: 'webmail' }), ['mail.shop.example.com', 'webmail.shop.example.com']);
  assert.deepEqual(certificateNames('mail', 'shop.example.com'), ['mail.shop.example.com']);
  assert.equal(hestiaDomainOf('mail', 'mail.shop.example.com'), 'shop.example.com');
  assert.equal(hestiaDomainOf('web', 'mail.example.com'), 'mail.example.com');
});
