// How a request proves who it is (reference §1). An API token is one header on every call. A
// user and password log in with POST /access/ticket: the ticket goes in the PVEAuthCookie
// cookie, and every call but a GET also carries the CSRFPreventionToken header. A ticket lives
// 2 h; it is renewed after 90 minutes (by sending the old ticket as the password), and a 401 on
// a call logs in again once. Every secret in play is handed to `secret` before it is used.
import { InputError, TerminalError } from '../../common/errors.ts';
import type { HttpMethod, ProxmoxCredentials } from './types.ts';

/** Renew the ticket this long after it was issued (it expires after 2 h). */
export const TICKET_RENEW_MS = 90 * 60_000;

/** POSTs a form to the API without authentication and returns `data`; errors are already classified. */
export type LoginCall = (params: Record<string, string>) => Promise<unknown>;

interface Ticket {
  ticket: string;
  csrf: string;
  issuedAt: number;
}

const TOKEN_ID = /^[^\s@!=]+@[A-Za-z][A-Za-z0-9.\-_]*![A-Za-z][A-Za-z0-9.\-_]*$/;
const USER_ID = /^[^\s@:]+@[A-Za-z][A-Za-z0-9.\-_]*$/;

/** Checks the credentials' shape (InputError naming the field) before anything is sent. */
export function checkCredentials(c: ProxmoxCredentials): void {
  if (!c || typeof c !== 'object') throw new InputError('credentials', 'are required');
  if (c.kind === 'token') {
    if (typeof c.tokenId !== 'string' || !TOKEN_ID.test(c.tokenId)) throw new InputError('credentials.tokenId', 'must look like user@realm!tokenname (e.g. hostbridge@pve!deploy)');
    if (typeof c.secret !== 'string' || c.secret.trim() === '' || /\s/.test(c.secret)) throw new InputError('credentials.secret', 'must be the token secret (a UUID, no spaces)');
  } else if (c.kind === 'password') {
    if (typeof c.username !== 'string' || !USER_ID.test(c.username)) throw new InputError('credentials.username', 'must look like user@realm (e.g. root@pam)');
    if (typeof c.password !== 'string' || c.password === '') throw new InputError('credentials.password', 'is required');
  } else {
    throw new InputError('credentials.kind', "must be 'token' or 'password'");
  }
}

export class Auth {
  private ticket: Ticket | null = null;
  private pending: Promise<Ticket> | null = null;

  constructor(
    private readonly credentials: ProxmoxCredentials,
    private readonly login: LoginCall,
    private readonly secret: (value: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    checkCredentials(credentials);
    secret(credentials.kind === 'token' ? credentials.secret : credentials.password);
  }

  get kind(): ProxmoxCredentials['kind'] {
    return this.credentials.kind;
  }

  /** The headers that authenticate one call. */
  async headers(method: HttpMethod): Promise<Record<string, string>> {
    const c = this.credentials;
    if (c.kind === 'token') return { Authorization: `PVEAPIToken=${c.tokenId}=${c.secret}` };
    const t = await this.current();
    return {
      Cookie: `PVEAuthCookie=${encodeURIComponent(t.ticket)}`,
      ...(method === 'GET' ? {} : { CSRFPreventionToken: t.csrf }),
    };
  }

  /** After a 401: drop the ticket so the next headers() logs in again. False when that cannot help (a token). */
  invalidate(): boolean {
    if (this.credentials.kind === 'token') return false;
    this.ticket = null;
    return true;
  }

  private async current(): Promise<Ticket> {
    const t = this.ticket;
    if (t && this.now() - t.issuedAt < TICKET_RENEW_MS) return t;
    // One login at a time: concurrent calls share it.
    if (!this.pending) {
      this.pending = this.obtain(t).finally(() => {
        this.pending = null;
      });
    }
    return this.pending;
  }

  private async obtain(old: Ticket | null): Promise<Ticket> {
    const c = this.credentials;
    if (c.kind !== 'password') throw new TerminalError('a ticket is only used with a user and password');
    if (old) {
      // Renewal: the old ticket stands in for the password. If it was refused, log in afresh.
      try {
        return (this.ticket = this.accept(await this.login({ username: c.username, password: old.ticket })));
      } catch {
        this.ticket = null;
      }
    }
    return (this.ticket = this.accept(await this.login({ username: c.username, password: c.password })));
  }

  private accept(data: unknown): Ticket {
    const d = data as { ticket?: unknown; CSRFPreventionToken?: unknown } | null;
    if (!d || typeof d.ticket !== 'string' || typeof d.CSRFPreventionToken !== 'string') {
      throw new TerminalError('Proxmox answered the login without a ticket and CSRFPreventionToken');
    }
    this.secret(d.ticket);
    this.secret(encodeURIComponent(d.ticket));
    this.secret(d.CSRFPreventionToken);
    return { ticket: d.ticket, csrf: d.CSRFPreventionToken, issuedAt: this.now() };
  }
}
