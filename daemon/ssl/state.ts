// The automatic-SSL rows (mod_hostbridge_ssl), by name: one row per certificate of a role of a
// service, keyed by its first name (web: the web domain; mail: mail.<domain>). The worker, the
// issue step, the API and the pages read and write them only through these operations.
import type { Knex } from 'knex';
import { T } from '../common/tables.ts';
import type { SslRole, SslState } from './cadence.ts';

export interface SslRow {
  serviceId: number;
  domain: string;
  role: SslRole;
  names: string[];
  serverId: number;
  user: string;
  state: SslState;
  checks: number;
  failures: number;
  frozenUntil: number | null;
  nextCheckAt: number;
  lastCheckAt: number | null;
  lastResult: string | null;
  lastError: string | null;
  notAfter: number | null;
  issuer: string | null;
  updatedAt: number;
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function namesOf(raw: unknown, domain: string): string[] {
  try {
    const v = typeof raw === 'string' ? JSON.parse(raw) : null;
    if (Array.isArray(v) && v.length && v.every((n) => typeof n === 'string')) return v as string[];
  } catch { /* an unreadable list: the row's own name */ }
  return [domain];
}

export function rowFrom(r: Record<string, unknown>): SslRow {
  const domain = String(r.domain);
  return {
    serviceId: Number(r.service_id), domain, role: (r.role === 'mail' ? 'mail' : 'web'), names: namesOf(r.names, domain),
    serverId: Number(r.server_id), user: String(r.user), state: String(r.state) as SslState,
    checks: Number(r.checks ?? 0), failures: Number(r.failures ?? 0), frozenUntil: num(r.frozen_until),
    nextCheckAt: Number(r.next_check_at), lastCheckAt: num(r.last_check_at), lastResult: (r.last_result as string) ?? null,
    lastError: (r.last_error as string) ?? null, notAfter: num(r.not_after), issuer: (r.issuer as string) ?? null, updatedAt: Number(r.updated_at),
  };
}

type Db = Knex | Knex.Transaction;

/** A certificate seeded by deployment: new rows start in fast mode; an existing row keeps its history (a redeploy). */
export async function seedSslRow(db: Db, row: { serviceId: number; role: SslRole; names: string[]; serverId: number; user: string; issued: boolean; now: number }): Promise<void> {
  const domain = row.names[0]!;
  const existing = await db(T.ssl).where({ service_id: row.serviceId, domain }).first('state');
  if (existing) {
    // A custom certificate stays; a frozen row stays frozen; the rest is checked now.
    const keep = existing.state === 'custom' || existing.state === 'frozen';
    await db(T.ssl).where({ service_id: row.serviceId, domain }).update({
      role: row.role, names: JSON.stringify(row.names), server_id: row.serverId, user: row.user,
      ...(keep ? {} : { next_check_at: row.now }), updated_at: row.now,
    });
    return;
  }
  await db(T.ssl).insert({
    service_id: row.serviceId, domain, role: row.role, names: JSON.stringify(row.names), server_id: row.serverId, user: row.user,
    state: 'waiting-dns', attempts: 0, checks: 0, failures: 0, next_check_at: row.now, last_error: null,
    last_result: row.issued ? 'a certificate is installed; checking it' : 'set up: the first check is due', updated_at: row.now,
  });
}

/** Rows due for a check: due now, not a custom certificate, not frozen past now, of an active service with SSL on. */
export async function dueSslRows(db: Db, now: number, limit: number): Promise<SslRow[]> {
  const rows = await db(`${T.ssl} as s`).join(`${T.services} as v`, 'v.id', 's.service_id')
    .where('v.state', 'active').where('s.next_check_at', '<=', now).whereNot('s.state', 'custom')
    .where((b) => b.whereNull('s.frozen_until').orWhere('s.frozen_until', '<=', now).orWhereNot('s.state', 'frozen'))
    .orderBy('s.next_check_at').limit(limit).select('s.*');
  return rows.map(rowFrom);
}

export async function sslRowsOf(db: Db, serviceId: number): Promise<SslRow[]> {
  const rows = await db(T.ssl).where('service_id', serviceId).orderBy([{ column: 'role', order: 'desc' }, { column: 'domain' }]);
  return rows.map(rowFrom);
}

export async function sslRow(db: Db, serviceId: number, domain: string): Promise<SslRow | null> {
  const r = await db(T.ssl).where({ service_id: serviceId, domain }).first();
  return r ? rowFrom(r) : null;
}

/** Writes a check's outcome unless the row became a custom certificate's meanwhile. */
export async function recordCheck(db: Db, key: { serviceId: number; domain: string }, c: {
  state: SslState; checks: number; nextCheckAt: number; lastResult: string; now: number; notAfter?: number | null; issuer?: string | null;
}): Promise<void> {
  await db(T.ssl).where({ service_id: key.serviceId, domain: key.domain }).whereNot('state', 'custom').update({
    state: c.state, checks: c.checks, next_check_at: c.nextCheckAt, last_result: c.lastResult.slice(0, 2000), last_check_at: c.now, updated_at: c.now,
    ...(c.notAfter !== undefined ? { not_after: c.notAfter } : {}), ...(c.issuer !== undefined ? { issuer: c.issuer?.slice(0, 255) ?? null } : {}),
  });
}

/** Writes a certificate request's outcome (the issue step), unless the row became a custom certificate's. */
export async function recordIssue(db: Db, key: { serviceId: number; domain: string }, c: {
  state: SslState; failures: number; frozenUntil: number | null; nextCheckAt: number; now: number;
  lastResult: string; lastError: string | null; notAfter?: number | null; issuer?: string | null;
}): Promise<void> {
  await db(T.ssl).where({ service_id: key.serviceId, domain: key.domain }).whereNot('state', 'custom').update({
    state: c.state, failures: c.failures, frozen_until: c.frozenUntil, next_check_at: c.nextCheckAt, last_result: c.lastResult.slice(0, 2000),
    last_error: c.lastError?.slice(0, 2000) ?? null, updated_at: c.now, attempts: db.raw('attempts + 1'),
    ...(c.notAfter !== undefined ? { not_after: c.notAfter } : {}), ...(c.issuer !== undefined ? { issuer: c.issuer?.slice(0, 255) ?? null } : {}),
  });
}

/** Makes a service's rows (of one role, or all) due now; `unfreeze` also lifts a freeze (the admin's Issue / Renew now). */
export async function makeDueNow(db: Db, serviceId: number, o: { role?: SslRole; unfreeze: boolean; now: number }): Promise<number> {
  const q = db(T.ssl).where('service_id', serviceId).whereNot('state', 'custom');
  if (o.role) q.where('role', o.role);
  if (!o.unfreeze) q.where((b) => b.whereNot('state', 'frozen').orWhere('frozen_until', '<=', o.now).orWhereNull('frozen_until'));
  return q.update({
    next_check_at: o.now, updated_at: o.now,
    ...(o.unfreeze ? { frozen_until: null, failures: 0, state: db.raw(`CASE WHEN state = 'frozen' THEN 'failed' ELSE state END`) } : {}),
  });
}

/** A date as the customer reads it (6 March 2027), and a moment (2027-03-06 14:00 UTC). */
export const day = (ms: number) => new Date(ms).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
export const stamp = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** The state of a row in a few words (the timeline). */
export function shortState(r: Pick<SslRow, 'state' | 'frozenUntil' | 'notAfter'>, now: number): string {
  switch (r.state) {
    case 'issued': return r.notAfter ? `issued, valid until ${day(r.notAfter)}` : 'issued';
    case 'frozen': return r.frozenUntil && r.frozenUntil > now ? `frozen until ${stamp(r.frozenUntil)}` : 'frozen, checked again now';
    case 'waiting-dns': return 'waiting for DNS';
    case 'issuing': return 'requesting a certificate';
    case 'failed': return 'certificate request failed, trying again';
    case 'custom': return 'custom certificate';
    default: return r.state;
  }
}
