// Who may see the pages: the admin password (an scrypt hash in the settings table), sessions
// (the cookie holds a random token; the table holds only its SHA-256, the CSRF token and the
// scope), and the rate limit on failed logins. Nothing here logs or returns a secret.
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import type { Knex } from 'knex';
import { dbNow, inTx, isUniqueViolation } from '../db/connect.ts';
import { recordOperations } from '../engine/sql/oplog.ts';
import { writeSetting } from '../settings/settings.ts';
import { T } from '../common/tables.ts';

const scrypt = promisify(crypto.scrypt) as (password: string, salt: Buffer, keylen: number, opts: crypto.ScryptOptions) => Promise<Buffer>;

export const ADMIN_PASSWORD_KEY = 'ui.admin_password_hash';

export const MIN_PASSWORD = 10;
export const MAX_PASSWORD = 1024;
const SCRYPT = { N: 16384, r: 8, p: 1 };
const KEY_LEN = 32;

export class PasswordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasswordError';
  }
}

/** What is wrong with a new admin password, or null. */
export function passwordProblem(password: string): string | null {
  if (password.length < MIN_PASSWORD) return `the admin password must be at least ${MIN_PASSWORD} characters`;
  if (password.length > MAX_PASSWORD) return `the admin password must be at most ${MAX_PASSWORD} characters`;
  if (/[\0\r\n]/.test(password)) return 'the admin password must be one line without control characters';
  return null;
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, KEY_LEN, { ...SCRYPT, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N > 1 << 20 || r > 32 || p > 16) return false;
  const expected = Buffer.from(m[5]!, 'base64');
  const got = await scrypt(password.slice(0, MAX_PASSWORD), Buffer.from(m[4]!, 'base64'), expected.length, { N, r, p, maxmem: 256 * 1024 * 1024 });
  return got.length === expected.length && crypto.timingSafeEqual(got, expected);
}

/** Sets (or replaces) the admin password of the pages. Existing password sessions end. */
export async function setAdminPassword(db: Knex, password: string): Promise<void> {
  const problem = passwordProblem(password);
  if (problem) throw new PasswordError(problem);
  await writeSetting(db, ADMIN_PASSWORD_KEY, await hashPassword(password));
  await db(T.uiSessions).where({ kind: 'admin', via: 'password' }).delete();
}

export async function adminPasswordHash(db: Knex): Promise<string | null> {
  const row = await db(T.settings).where({ key: ADMIN_PASSWORD_KEY, encrypted: false }).first('value');
  return row && row.value ? String(row.value) : null;
}

/** Checks a password against the stored hash; false when none is set. Always spends the scrypt time. */
export async function checkAdminPassword(db: Knex, password: string): Promise<boolean> {
  const stored = await adminPasswordHash(db);
  if (!stored) {
    await verifyPassword(password, 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=');
    return false;
  }
  return verifyPassword(password, stored);
}

// --- sessions -----------------------------------------------------------------------------------

export type SessionKind = 'admin' | 'client';

export interface Session {
  id: string;
  kind: SessionKind;
  /** WHMCS service ids a client session may see. */
  services: number[];
  /** password | link: the daemon's own pages; whmcs: the pages embedded in the WHMCS addon (never from a cookie). */
  via: 'password' | 'link' | 'whmcs';
  csrf: string;
  expiresAt: number;
  /** Who acts, as the Operation Log names them; set for the request (the WHMCS admin's name). */
  actor?: string;
}

export const ADMIN_TTL_MS = 8 * 3600_000;
export const CLIENT_TTL_MS = 4 * 3600_000;

const digest = (token: string) => crypto.createHash('sha256').update(token).digest('hex');
const random = (bytes = 32) => crypto.randomBytes(bytes).toString('base64url');

function fromRow(r: Record<string, any>): Session {
  return {
    id: String(r.id), kind: r.kind, via: r.via, csrf: String(r.csrf), expiresAt: Number(r.expires_at),
    services: r.scope ? String(r.scope).split(',').filter(Boolean).map(Number) : [],
  };
}

/** A new session; returns the cookie's token (shown to nobody but the browser). */
export async function createSession(db: Knex, kind: SessionKind, via: 'password' | 'link', services: number[] = []): Promise<{ token: string; session: Session }> {
  const token = random();
  const now = await dbNow(db);
  const row = {
    id: digest(token), kind, via, scope: kind === 'client' ? services.join(',') : null, csrf: random(),
    flash: null, created_at: now, expires_at: now + (kind === 'admin' ? ADMIN_TTL_MS : CLIENT_TTL_MS),
  };
  await db(T.uiSessions).insert(row);
  // Expired sessions go now and then, not on every login.
  if (Math.random() < 0.1) await db(T.uiSessions).where('expires_at', '<', now).delete();
  return { token, session: fromRow(row) };
}

export async function loadSession(db: Knex, token: string | undefined): Promise<Session | null> {
  if (!token || !/^[A-Za-z0-9_-]{20,100}$/.test(token)) return null;
  const row = await db(T.uiSessions).where('id', digest(token)).first();
  if (!row || row.via === 'whmcs') return null;
  if (Number(row.expires_at) < (await dbNow(db))) {
    await db(T.uiSessions).where('id', row.id).delete();
    return null;
  }
  return fromRow(row);
}

/** A WHMCS admin as the addon names them (signed): WHMCS's admin id and username. */
export interface WhmcsAdmin { id: number; username: string }

/**
 * The session of a WHMCS admin working in the addon: one row per WHMCS admin id (it holds the
 * one-shot message between a form and the page after it), kept alive by every request. No cookie
 * opens it: its id is not the digest of any token a cookie may carry, and loadSession refuses it.
 */
export async function whmcsAdminSession(db: Knex, admin: WhmcsAdmin): Promise<Session> {
  const id = digest(`whmcs-admin\n${admin.id}`);
  const now = await dbNow(db);
  const expires = now + ADMIN_TTL_MS;
  let row = await db(T.uiSessions).where('id', id).first();
  if (!row) {
    row = { id, kind: 'admin', via: 'whmcs', scope: null, csrf: random(), flash: null, created_at: now, expires_at: expires };
    try {
      await db(T.uiSessions).insert(row);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      row = await db(T.uiSessions).where('id', id).first();
    }
  } else {
    await db(T.uiSessions).where('id', id).update({ expires_at: expires });
  }
  return { ...fromRow(row), actor: `WHMCS admin ${admin.username} (#${admin.id})` };
}

/** Who an admin session is, as the Operation Log shows it. */
export function actorOf(s: Session): string {
  if (s.actor) return s.actor;
  return s.via === 'password' ? 'daemon admin (password login)' : 'daemon admin (signed link)';
}

/** Records an admin's action (the message its form showed) with who did it. */
export async function recordAdminAction(db: Knex, s: Session, text: string, kind: 'ok' | 'error'): Promise<void> {
  if (s.kind !== 'admin') return;
  await inTx(db, async (trx) => {
    const row = { at: await dbNow(trx), actor: actorOf(s).slice(0, 200), via: s.via, ok: kind === 'ok', message: text.slice(0, 2000) };
    await trx(T.adminActions).insert(row);
    // The Operation Log keeps it beyond the queue's clean-up.
    await recordOperations(trx, [{ kind: 'action', finishedAt: row.at, actor: row.actor, via: row.via, result: row.ok ? 'done' : 'refused', message: row.message }]);
  });
}

/** Lets a client session see one more service (a second link opened in the same browser). */
export async function widenClientSession(db: Knex, s: Session, whmcsServiceId: number): Promise<void> {
  if (s.services.includes(whmcsServiceId)) return;
  const services = [...s.services, whmcsServiceId].slice(-50);
  await db(T.uiSessions).where('id', s.id).update({ scope: services.join(',') });
  s.services = services;
}

export async function endSession(db: Knex, s: Session): Promise<void> {
  await db(T.uiSessions).where('id', s.id).delete();
}

export async function setFlash(db: Knex, s: Session, text: string, kind: 'ok' | 'error' = 'ok'): Promise<void> {
  await db(T.uiSessions).where('id', s.id).update({ flash: JSON.stringify({ kind, text: text.slice(0, 2000) }) });
}

export async function takeFlash(db: Knex, s: Session): Promise<{ kind: string; text: string } | null> {
  const row = await db(T.uiSessions).where('id', s.id).first('flash');
  if (!row?.flash) return null;
  await db(T.uiSessions).where('id', s.id).update({ flash: null });
  try {
    return JSON.parse(row.flash);
  } catch {
    return null;
  }
}

export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

// --- the login rate limit -------------------------------------------------------------------------

export const FAILURE_WINDOW_MS = 15 * 60_000;
export const MAX_FAILURES_PER_IP = 5;
export const MAX_FAILURES_ALL = 50;

/** Null when a login may be tried now, else the seconds to wait. */
export async function loginBlockedFor(db: Knex, ip: string): Promise<number | null> {
  const now = await dbNow(db);
  const since = now - FAILURE_WINDOW_MS;
  const [mine, all] = await Promise.all([
    db(T.uiLoginFailures).where('ip', ip.slice(0, 64)).where('at', '>', since).orderBy('at', 'asc').select('at'),
    db(T.uiLoginFailures).where('at', '>', since).count({ n: '*' }),
  ]);
  if (mine.length >= MAX_FAILURES_PER_IP) {
    const oldest = Number(mine[mine.length - MAX_FAILURES_PER_IP]!.at);
    return Math.max(1, Math.ceil((oldest + FAILURE_WINDOW_MS - now) / 1000));
  }
  if (Number(all[0]!.n) >= MAX_FAILURES_ALL) return Math.ceil(FAILURE_WINDOW_MS / 1000);
  return null;
}

export async function recordLoginFailure(db: Knex, ip: string): Promise<void> {
  const now = await dbNow(db);
  await db(T.uiLoginFailures).insert({ ip: ip.slice(0, 64), at: now });
  if (Math.random() < 0.1) await db(T.uiLoginFailures).where('at', '<', now - FAILURE_WINDOW_MS).delete();
}

export async function clearLoginFailures(db: Knex, ip: string): Promise<void> {
  await db(T.uiLoginFailures).where('ip', ip.slice(0, 64)).delete();
}
