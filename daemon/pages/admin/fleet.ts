// Infrastructure: servers by capability (Web / Mail / DNS), their add and edit forms (credentials
// are never shown back: the fields stay empty, "leave blank to keep"), and server groups with
// their members, DNS servers, vanity domains and reserved names. Writes go through the inventory
// (addServer, updateServer, saveGroup) after the same JSON-schema check as the API.
import type { Request, Response, Router } from 'express';
import { InputError } from '../../common/errors.ts';
import { checkBody } from '../../common/bodies.ts';
import { addServer, getServer, listGroups, listServers, saveGroup, updateServer, type GroupInput, type ServerInput, type ServerView } from '../../fleet/inventory.ts';
import { back, idParam, page, requireAdmin, setFlash, UiError, wrap } from '../http.ts';
import type { PageDeps } from '../deps.ts';
import { mbText } from '../render.ts';
import { groupForEdit, serverHestiaBin, serversWithBin } from '../reads/fleet.ts';

type Row = Record<string, any>;
type Form = Record<string, unknown>;
const CAPS = ['web', 'mail', 'dns'] as const;

const str = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) ? String(v[0] ?? '') : '');
const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);

function intField(form: Form, field: string): number | undefined {
  const s = str(form[field]).trim();
  if (s === '') return undefined;
  if (!/^\d{1,9}$/.test(s)) throw new InputError(field, 'must be a whole number');
  return Number(s);
}

/** The server form as the API's body: empty fields are left out (a blank credential keeps the stored one). */
export function serverInput(form: Form): ServerInput {
  const out: Record<string, unknown> = {
    name: str(form.name).trim(), driver: str(form.driver), hostname: str(form.hostname).trim(), ip: str(form.ip).trim(),
    capabilities: Object.fromEntries(CAPS.map((c) => [c, list(form.cap).includes(c)])),
  };
  const port = intField(form, 'port');
  if (port !== undefined) out.port = port;
  const max = intField(form, 'max_accounts');
  if (max !== undefined) out.max_accounts = max;
  for (const k of ['username', 'host_key_sha256', 'hestia_bin', 'status'] as const) {
    const v = str(form[k]).trim();
    if (v !== '') out[k] = v;
  }
  for (const k of ['password', 'api_key'] as const) {
    const v = str(form[k]);
    if (v !== '') out[k] = v;
  }
  const key = str(form.private_key).replace(/\r\n/g, '\n').trim();
  if (key !== '') out.private_key = key + '\n';
  if (out.driver === 'powerdns') delete (out.capabilities as Record<string, boolean>).web, delete (out.capabilities as Record<string, boolean>).mail;
  return checkBody<ServerInput>('Server', out);
}

/** What the form shows again after an error: what was typed, but never a credential. */
function echo(form: Form): Record<string, unknown> {
  return {
    name: str(form.name), driver: str(form.driver) || 'hestiacp', hostname: str(form.hostname), ip: str(form.ip), port: str(form.port),
    username: str(form.username), host_key_sha256: str(form.host_key_sha256), hestia_bin: str(form.hestia_bin), status: str(form.status) || 'active',
    max_accounts: str(form.max_accounts), caps: list(form.cap),
  };
}

function fromServer(s: ServerView): Record<string, unknown> {
  return {
    name: s.name, driver: s.driver, hostname: s.hostname, ip: s.ip, port: String(s.port), username: s.username ?? '', host_key_sha256: s.host_key_sha256 ?? '',
    hestia_bin: '', status: s.status, max_accounts: String(s.max_accounts), caps: CAPS.filter((c) => s.capabilities[c]),
  };
}

/** `CPU 3.4% · RAM 41.7% · Disk 11% · Load 4%`, as far as the check found figures. */
function resourcesLine(h: NonNullable<ServerView['health']>): string {
  const parts: string[] = [];
  if (h.cpu_pct !== null) parts.push(`CPU ${h.cpu_pct}%${h.cpus ? ` of ${h.cpus}` : ''}`);
  if (h.mem_pct !== null) parts.push(`RAM ${h.mem_pct}% of ${mbText(h.mem_total_mb)}`);
  if (h.disk_pct !== null) parts.push(`Disk ${h.disk_pct}%${h.disk_size ? ` of ${h.disk_size}` : ''}`);
  if (h.load_pct !== null) parts.push(`Load ${h.load_pct}%`);
  return parts.join(' · ');
}

function uptimeText(min: number): string {
  const d = Math.floor(min / 1440);
  const hrs = Math.floor((min % 1440) / 60);
  return d > 0 ? `${d} d ${hrs} h` : hrs > 0 ? `${hrs} h ${min % 60} min` : `${min} min`;
}

function problem(err: unknown): string | null {
  if (err instanceof InputError) return err.message;
  return null;
}

export function addFleetPages(r: Router, deps: PageDeps): void {
  const { db } = deps;

  r.get('/admin/servers', wrap(async (req, res) => {
    requireAdmin(req);
    const cap = CAPS.includes(String(req.query.cap) as never) ? String(req.query.cap) : '';
    const status = ['active', 'disabled', 'maintenance'].includes(String(req.query.status)) ? String(req.query.status) : '';
    const all = await serversWithBin(db);
    const servers = all.filter((s) => (!cap || s.capabilities[cap as 'web']) && (!status || s.status === status));
    await page(deps, req, res, 'admin-servers', {
      title: 'Infrastructure', nav: 'servers', cap, status, total: all.length,
      tabs: [{ key: '', label: 'All servers' }, { key: 'web', label: 'Web servers' }, { key: 'mail', label: 'Mail servers' }, { key: 'dns', label: 'DNS servers' }]
        .map((t) => ({ ...t, count: t.key ? all.filter((s) => s.capabilities[t.key as 'web']).length : all.length, active: t.key === cap })),
      servers: servers.map((s) => ({
        ...s, full: s.max_accounts > 0 && s.accounts >= s.max_accounts,
        health: s.health && { ...s.health, resources: resourcesLine(s.health), uptime: s.health.uptime_min === null ? null : uptimeText(s.health.uptime_min) },
      })),
    });
  }));

  const serverForm = async (req: Request, res: Response, o: { id?: number; values: Record<string, unknown>; error?: string | null; credential?: string | null }, status = 200) => {
    await page(deps, req, res, 'admin-server-form', {
      title: o.id ? 'Edit server' : 'Add a server', nav: 'servers', id: o.id, editing: !!o.id, vals: o.values, error: o.error ?? null,
      credential: o.credential ?? null,
      drivers: [{ value: 'hestiacp', label: 'HestiaCP (SSH)' }, { value: 'powerdns', label: 'PowerDNS (HTTP API)' }],
      statuses: ['active', 'maintenance', 'disabled'], caps: CAPS,
    }, status);
  };
  const credentialOf = (s: ServerView) => (s.has_credential ? `set (${s.auth_method})` : 'not set');

  r.get('/admin/servers/new', wrap(async (req, res) => {
    requireAdmin(req);
    await serverForm(req, res, { values: { driver: 'hestiacp', status: 'active', port: '', username: 'root', caps: [] } });
  }));
  r.post('/admin/servers', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const form = (req.body ?? {}) as Form;
    let id: number;
    try {
      id = await addServer(db, deps.masterKey, serverInput(form));
    } catch (err) {
      const msg = problem(err);
      if (msg === null) throw err;
      return serverForm(req, res, { values: echo(form), error: `${msg}. Nothing was saved.` }, 422);
    }
    await setFlash(db, s, `Server "${str(form.name).trim()}" added (#${id}).`);
    back(res, '/ui/admin/servers');
  }));
  r.get('/admin/servers/:id/edit', wrap(async (req, res) => {
    requireAdmin(req);
    const id = idParam(req.params.id, 'server');
    const srv = await getServer(db, id);
    if (!srv) throw new UiError(404, `Server #${id} does not exist.`);
    await serverForm(req, res, { id, values: { ...fromServer(srv), hestia_bin: await serverHestiaBin(db, id) }, credential: credentialOf(srv) });
  }));
  r.post('/admin/servers/:id', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'server');
    const srv = await getServer(db, id);
    if (!srv) throw new UiError(404, `Server #${id} does not exist.`);
    const form = (req.body ?? {}) as Form;
    try {
      await updateServer(db, deps.masterKey, id, serverInput(form));
    } catch (err) {
      const msg = problem(err);
      if (msg === null) throw err;
      return serverForm(req, res, { id, values: echo(form), error: `${msg}. Nothing was saved.`, credential: credentialOf(srv) }, 422);
    }
    await setFlash(db, s, `Server "${str(form.name).trim()}" saved.`);
    back(res, '/ui/admin/servers');
  }));

  // --- server groups ---
  r.get('/admin/groups', wrap(async (req, res) => {
    requireAdmin(req);
    const [groups, servers] = await Promise.all([listGroups(db), listServers(db)]);
    const name = new Map(servers.map((s) => [s.id, s.name]));
    await page(deps, req, res, 'admin-groups', {
      title: 'Server groups', nav: 'groups',
      groups: groups.map((g) => ({ ...g, members: g.servers.map((i) => name.get(i) ?? `#${i}`), dns: g.dns_servers.map((i) => name.get(i) ?? `#${i}`) })),
    });
  }));

  const groupForm = async (req: Request, res: Response, o: { id?: number; values: Record<string, unknown>; error?: string | null }, status = 200) => {
    const servers = await listServers(db);
    const chosen = (o.values.servers as string[]) ?? [];
    const chosenDns = (o.values.dns_servers as string[]) ?? [];
    await page(deps, req, res, 'admin-group-form', {
      title: o.id ? 'Edit server group' : 'Add a server group', nav: 'groups', id: o.id, editing: !!o.id, vals: o.values, error: o.error ?? null,
      members: servers.filter((s) => s.driver === 'hestiacp').map((s) => ({ ...s, checked: chosen.includes(String(s.id)) })),
      dnsServers: servers.filter((s) => s.capabilities.dns).map((s) => ({ ...s, checked: chosenDns.includes(String(s.id)) })),
    }, status);
  };

  const groupInput = async (form: Form): Promise<GroupInput> => {
    const servers = await listServers(db);
    const byName = new Map(servers.map((s) => [s.name.toLowerCase(), s.id]));
    const ids = (field: string) => list(form[field]).map((v) => {
      if (!/^[1-9][0-9]{0,9}$/.test(v)) throw new InputError(field, `"${v.slice(0, 20)}" is not a server id`);
      return Number(v);
    });
    const lines = (v: unknown) => str(v).split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    const vanity = lines(form.vanity_domains).map((line, i) => {
      const [domain, mail, mailUser, dnsUser] = line.split(/[\s,|]+/);
      const v: Record<string, unknown> = { domain };
      if (mail && mail !== '-') {
        const id = /^\d+$/.test(mail) ? Number(mail) : byName.get(mail.toLowerCase());
        if (!id) throw new InputError(`vanity_domains.${i}.mail_server_id`, `no server is named "${mail.slice(0, 60)}" (line ${i + 1})`);
        v.mail_server_id = id;
      }
      if (mailUser && mailUser !== '-') v.mail_user = mailUser;
      if (dnsUser && dnsUser !== '-') v.dns_user = dnsUser;
      return v;
    });
    return checkBody<GroupInput>('ServerGroup', {
      name: str(form.name).trim(),
      nameservers: lines(form.nameservers),
      servers: ids('servers'),
      dns_servers: ids('dns_servers'),
      vanity_domains: vanity,
      reserved_names: [...new Set(str(form.reserved_names).split(/[\s,]+/).map((n) => n.trim().toLowerCase()).filter(Boolean))],
    });
  };

  const groupEcho = (form: Form) => ({
    name: str(form.name), nameservers: str(form.nameservers), servers: list(form.servers), dns_servers: list(form.dns_servers),
    vanity_domains: str(form.vanity_domains), reserved_names: str(form.reserved_names),
  });

  r.get('/admin/groups/new', wrap(async (req, res) => {
    requireAdmin(req);
    await groupForm(req, res, { values: { name: '', nameservers: '', servers: [], dns_servers: [], vanity_domains: '', reserved_names: 'www mail admin ftp webmail' } });
  }));
  r.get('/admin/groups/:id/edit', wrap(async (req, res) => {
    requireAdmin(req);
    const id = idParam(req.params.id, 'server group');
    const found = await groupForEdit(db, id);
    if (!found) throw new UiError(404, `Server group #${id} does not exist.`);
    const { group: g, members, dns, vanity, reserved, servers } = found;
    const name = new Map(servers.map((s) => [s.id, s.name]));
    await groupForm(req, res, {
      id, values: {
        name: g.name, nameservers: String(g.nameservers ?? '').split(',').filter(Boolean).join('\n'),
        servers: members.map(String), dns_servers: dns.map(String),
        vanity_domains: vanity.map((v: Row) => [v.domain, v.mail_server_id ? (/\s|,|\|/.test(name.get(Number(v.mail_server_id)) ?? ' ') ? v.mail_server_id : name.get(Number(v.mail_server_id))) : '-', v.mail_user ?? '-', v.dns_user ?? '-'].join(' ')).join('\n'),
        reserved_names: reserved.join(' '),
      },
    });
  }));
  const save = wrap(async (req, res) => {
    const s = requireAdmin(req);
    const form = (req.body ?? {}) as Form;
    const id = req.params.id !== undefined ? idParam(req.params.id, 'server group') : undefined;
    let saved: number;
    try {
      saved = await saveGroup(db, await groupInput(form), id);
    } catch (err) {
      const msg = problem(err);
      if (msg === null) throw err;
      return groupForm(req, res, { id, values: groupEcho(form), error: `${msg}. Nothing was saved.` }, 422);
    }
    await setFlash(db, s, `Server group "${str(form.name).trim()}" saved (#${saved}).`);
    back(res, '/ui/admin/groups');
  });
  r.post('/admin/groups', save);
  r.post('/admin/groups/:id', save);
}
