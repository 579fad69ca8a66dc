// The automatic-SSL cadence, pure: from a certificate row, what its check found and the SSL
// settings, the row's next state, when it is checked next and whether a certificate is requested.
// Fast mode is the first `fastChecks` checks of a row (a new site goes green within minutes of its
// DNS pointing); then the normal interval; once a valid certificate is served, the active interval
// (renewals are found there). The rate-limit guard freezes a row after `freezeAfter` consecutive
// failed requests for `freezeHours`.

export type SslRole = 'web' | 'mail';
export type SslState = 'waiting-dns' | 'issuing' | 'issued' | 'failed' | 'frozen' | 'custom';
export const SSL_STATES: readonly SslState[] = ['waiting-dns', 'issuing', 'issued', 'failed', 'frozen', 'custom'];

export interface SslSettings {
  enabled: boolean;
  fastChecks: number;
  fastIntervalS: number;
  normalIntervalS: number;
  activeIntervalS: number;
  renewBeforeDays: number;
  freezeAfter: number;
  freezeHours: number;
  resolver: string;
  probePort: number;
  probeTimeoutMs: number;
  extraCaFile: string;
}

/** The SSL settings from the settings table's values (already checked by settings.ts). */
export function sslSettingsFrom(s: Record<string, string>): SslSettings {
  const n = (k: string) => Number(s[k]);
  return {
    enabled: s['ssl.enabled'] !== 'false',
    fastChecks: n('ssl.fast_checks'), fastIntervalS: n('ssl.fast_interval_s'), normalIntervalS: n('ssl.normal_interval_s'),
    activeIntervalS: n('ssl.active_interval_s'), renewBeforeDays: n('ssl.renew_before_days'),
    freezeAfter: n('ssl.freeze_after'), freezeHours: n('ssl.freeze_hours'),
    resolver: s['ssl.resolver'] ?? '', probePort: n('ssl.probe_port'), probeTimeoutMs: n('ssl.probe_timeout_ms'), extraCaFile: s['ssl.extra_ca_file'] ?? '',
  };
}

export interface CadenceRow {
  state: SslState;
  /** Checks made so far (fast mode counts them). */
  checks: number;
  /** Consecutive failed certificate requests. */
  failures: number;
  frozenUntil: number | null;
}

/** What one check found: the names do not resolve to the server, or what the server serves. */
export type CheckFinding =
  | { dns: 'not-ok'; reason: string }
  | { dns: 'ok'; verdict: string; detail: string; notAfter: number | null; issuer: string | null };

export interface CheckDecision {
  state: SslState;
  checks: number;
  nextCheckAt: number;
  /** Request a certificate now (the worker queues the issue task). */
  issue: boolean;
  lastResult: string;
  notAfter?: number | null;
  issuer?: string | null;
}

const DAY = 86_400_000;

/** Whether the row may be checked now: never a custom certificate's row, a frozen one only after its window. */
export function isCheckable(row: CadenceRow, now: number): boolean {
  if (row.state === 'custom') return false;
  if (row.state === 'frozen' && row.frozenUntil !== null && row.frozenUntil > now) return false;
  return true;
}

/** The wait before the next check of a row that has made `checks` checks and has no valid certificate. */
export function searchingIntervalMs(checks: number, s: SslSettings): number {
  return (checks < s.fastChecks ? s.fastIntervalS : s.normalIntervalS) * 1000;
}

/** A check's outcome: waiting for DNS, issued (valid and not near expiry), or a certificate to request. */
export function afterCheck(row: CadenceRow, f: CheckFinding, s: SslSettings, now: number): CheckDecision {
  const checks = row.checks + 1;
  if (f.dns === 'not-ok') {
    return { state: 'waiting-dns', checks, nextCheckAt: now + searchingIntervalMs(checks, s), issue: false, lastResult: `DNS: ${f.reason}` };
  }
  const renewBy = now + s.renewBeforeDays * DAY;
  if (f.verdict === 'valid' && f.notAfter !== null && f.notAfter > renewBy) {
    return {
      state: 'issued', checks, nextCheckAt: now + s.activeIntervalS * 1000, issue: false,
      lastResult: `DNS ok; TLS: ${f.detail}`, notAfter: f.notAfter, issuer: f.issuer,
    };
  }
  const why = f.verdict === 'valid' ? `certificate expires ${new Date(f.notAfter ?? now).toISOString().slice(0, 10)}, within ${s.renewBeforeDays} days: renewing` : f.detail;
  // A check after the request, should it never run (the task cancelled); the request itself moves the row on.
  return {
    state: 'issuing', checks, nextCheckAt: now + searchingIntervalMs(checks, s), issue: true,
    lastResult: `DNS ok; TLS: ${why}; certificate requested`,
    ...(f.verdict === 'valid' ? { notAfter: f.notAfter, issuer: f.issuer } : {}),
  };
}

export interface IssueDecision {
  state: SslState;
  failures: number;
  frozenUntil: number | null;
  nextCheckAt: number;
}

/** After a successful request: issued, failures reset, checked again on the active cadence. */
export function afterIssued(s: SslSettings, now: number): IssueDecision {
  return { state: 'issued', failures: 0, frozenUntil: null, nextCheckAt: now + s.activeIntervalS * 1000 };
}

/**
 * After a refused request (ACME or DNS refusal): one failure more; at `freezeAfter` in a row the row
 * is frozen for `freezeHours` and checked again when the window ends; else retried on the searching cadence.
 */
export function afterFailure(row: Pick<CadenceRow, 'failures' | 'checks'>, s: SslSettings, now: number): IssueDecision {
  const failures = row.failures + 1;
  if (failures >= s.freezeAfter) {
    const until = now + s.freezeHours * 3_600_000;
    return { state: 'frozen', failures, frozenUntil: until, nextCheckAt: until };
  }
  return { state: 'failed', failures, frozenUntil: null, nextCheckAt: now + searchingIntervalMs(row.checks, s) };
}

/** The names of a role's certificate: the first is the row's key. */
export function certificateNames(role: SslRole, domain: string, o: { aliases?: string[]; webmail?: string | null } = {}): string[] {
  if (role === 'mail') return [`mail.${domain}`, ...(o.webmail ? [`${o.webmail}.${domain}`] : [])];
  return [domain, ...(o.aliases ?? []).filter((a) => a !== domain)];
}

/** The HestiaCP domain a row's certificate belongs to (mail rows are keyed mail.<domain>). */
export function hestiaDomainOf(role: SslRole, rowDomain: string): string {
  return role === 'mail' ? rowDomain.replace(/^mail\./, '') : rowDomain;
}
