// Authentication as pveproxy does it: an API token header (no CSRF needed), or a ticket cookie
// (PVEAuthCookie) with a CSRFPreventionToken header on every non-GET. Tickets are HMAC-signed
// with a per-start key and live two hours.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ApiError } from './errors.ts';

export interface Identity { user: string; token?: string; readOnly?: boolean }
export interface TokenSpec { id: string; secret: string; /** Only audit rights (its ACL grants PVEAuditor): every change is a 403. */ readOnly?: boolean }

const TICKET_LIFETIME_S = 2 * 3600;

export class Auth {
  private readonly key = randomBytes(32);
  constructor(
    private readonly tokens: TokenSpec[],
    private readonly users: Array<{ username: string; password: string }>,
  ) {}

  private sign(data: string): string { return createHmac('sha256', this.key).update(data).digest('base64'); }

  issueTicket(user: string): { ticket: string; csrf: string } {
    const ts = Math.floor(Date.now() / 1000).toString(16).toUpperCase().padStart(8, '0');
    const plain = `PVE:${user}:${ts}`;
    const ticket = `${plain}::${this.sign(plain)}`;
    const csrf = `${ts}:${this.sign(`csrf:${ts}:${user}`).replace(/=+$/, '')}`;
    return { ticket, csrf };
  }

  /** The user a ticket names, or undefined if forged or expired. */
  verifyTicket(ticket: string): string | undefined {
    const m = /^(PVE:([^:]+):([0-9A-F]{8}))::(.+)$/.exec(ticket);
    if (!m) return undefined;
    if (!safeEq(this.sign(m[1]!), m[4]!)) return undefined;
    const age = Math.floor(Date.now() / 1000) - parseInt(m[3]!, 16);
    if (age < -300 || age > TICKET_LIFETIME_S) return undefined;
    return m[2]!;
  }

  verifyCsrf(token: string | undefined, user: string): boolean {
    if (!token) return false;
    const m = /^([0-9A-F]{8}):(.+)$/.exec(token);
    if (!m) return false;
    const age = Math.floor(Date.now() / 1000) - parseInt(m[1]!, 16);
    if (age < -300 || age > TICKET_LIFETIME_S) return false;
    return safeEq(this.sign(`csrf:${m[1]}:${user}`).replace(/=+$/, ''), m[2]!);
  }

  /** POST /access/ticket: a password, or a still valid ticket of the same user (renewal). */
  login(username: string, password: string): string | undefined {
    if (password.startsWith('PVE:')) {
      const u = this.verifyTicket(password);
      return u && u === username ? u : undefined;
    }
    const u = this.users.find((x) => x.username === username);
    return u && safeEq(u.password, password) ? u.username : undefined;
  }

  /**
   * Who is calling. Throws 401 ("No ticket" / "authentication failure" / CSRF) as pveproxy does;
   * `method` decides whether a ticket caller needs the CSRF header.
   */
  identify(method: string, headers: Record<string, string | string[] | undefined>): Identity {
    const authz = headerOf(headers, 'authorization');
    if (authz && /^PVEAPIToken[= ]/.test(authz)) {
      const m = /^PVEAPIToken[= ]([^=\s]+@[^=\s!]+![^=\s]+)=(\S+)$/.exec(authz.trim());
      if (!m) throw new ApiError(401, 'authentication failure');
      const tok = this.tokens.find((t) => t.id === m[1]);
      if (!tok || !safeEq(tok.secret, m[2]!)) throw new ApiError(401, 'authentication failure');
      return { user: tok.id.split('!')[0]!, token: tok.id, readOnly: tok.readOnly };
    }
    const cookie = headerOf(headers, 'cookie');
    const raw = cookie && /(?:^|;\s*)PVEAuthCookie=([^;]*)/.exec(cookie)?.[1];
    if (!raw) throw new ApiError(401, 'No ticket');
    let ticket: string;
    try { ticket = decodeURIComponent(raw); } catch { throw new ApiError(401, 'authentication failure'); }
    const user = this.verifyTicket(ticket);
    if (!user) throw new ApiError(401, 'authentication failure');
    if (method !== 'GET' && !this.verifyCsrf(headerOf(headers, 'csrfpreventiontoken'), user)) {
      throw new ApiError(401, 'Permission denied - invalid csrf token');
    }
    return { user };
  }
}

function headerOf(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function safeEq(a: string, b: string): boolean {
  const x = Buffer.from(a); const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The ACL path and privilege a change needs, as the 403 message names them. */
export function privilegeFor(method: string, path: string): [string, string] {
  const vm = /^\/nodes\/[^/]+\/qemu\/(\d+)(\/.*)?$/.exec(path);
  if (vm) {
    const rest = vm[2] ?? '';
    const acl = `/vms/${vm[1]}`;
    if (rest === '' && method === 'DELETE') return [acl, 'VM.Allocate'];
    if (rest === '/clone') return [acl, 'VM.Clone'];
    if (rest === '/migrate') return [acl, 'VM.Migrate'];
    if (rest === '/resize') return [acl, 'VM.Config.Disk'];
    if (rest.startsWith('/status/')) return [acl, 'VM.PowerMgmt'];
    if (rest.startsWith('/snapshot')) return [acl, 'VM.Snapshot'];
    if (rest.startsWith('/firewall')) return [acl, 'VM.Config.Network'];
    if (rest === '/cloudinit') return [acl, 'VM.Config.Cloudinit'];
    if (rest === '/vncproxy' || rest === '/vncwebsocket') return [acl, 'VM.Console'];
    return [acl, 'VM.Config.Options'];
  }
  const store = /^\/nodes\/[^/]+\/storage\/([^/]+)/.exec(path);
  if (store) return [`/storage/${store[1]}`, 'Datastore.Allocate'];
  if (/^\/nodes\/[^/]+\/vzdump$/.test(path)) return ['/vms', 'VM.Backup'];
  if (method === 'POST' && /^\/nodes\/[^/]+\/qemu$/.test(path)) return ['/vms', 'VM.Backup'];
  const node = /^\/nodes\/([^/]+)/.exec(path);
  if (node) return [`/nodes/${node[1]}`, 'Sys.Modify'];
  return ['/', 'Sys.Modify'];
}
