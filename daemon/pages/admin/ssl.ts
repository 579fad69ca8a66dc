// The admin service panel's SSL tab: its data (the service's certificates per role, with the custom
// certificate of each) and its forms — Issue / Renew now (lifts a freeze: the admin decides), and
// a custom certificate's upload and removal (services/ssl-custom.ts). A refusal is the flash the
// pages show for any refusal; the private key is never shown back: the form posts, the page
// redirects, and no message holds it.
import type { Router } from 'express';
import type { Knex } from 'knex';
import { InputError } from '../../common/errors.ts';
import { actorOf } from '../auth.ts';
import { act, idParam, requireAdmin, wrap } from '../http.ts';
import type { PageDeps } from '../deps.ts';
import { requestSslCheck, sslView } from '../../services/ssl-auto.ts';
import { removeCustomCertificate, uploadCustomCertificate } from '../../services/ssl-custom.ts';
import type { SslRole } from '../../ssl/cadence.ts';
import { formatTime } from '../render.ts';

type Form = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : '');

function roleOf(v: unknown): SslRole {
  if (v === 'web' || v === 'mail') return v;
  throw new InputError('role', 'must be web or mail');
}

/** The SSL tab's rows, as the template shows them. */
export async function sslTab(db: Knex, whmcsServiceId: number) {
  const v = await sslView(db, whmcsServiceId).catch((err) => {
    if (err instanceof InputError && err.status === 404) return { service_state: '', roles: [] };
    throw err;
  });
  const servers = new Map((await db('mod_hostbridge_servers').select('id', 'name')).map((s: { id: number; name: string }) => [Number(s.id), s.name]));
  return v.roles.map((r) => ({
    ...r, server: servers.get(r.serverId) ?? `#${r.serverId}`, namesText: r.names.join(', '),
    lastCheck: r.lastCheckAt ? formatTime(r.lastCheckAt) : null, nextCheck: r.state === 'custom' ? null : formatTime(r.nextCheckAt),
    frozenUntilText: r.frozen && r.frozenUntil ? formatTime(r.frozenUntil) : null, notAfterText: r.notAfter ? formatTime(r.notAfter) : null,
    customNames: r.custom?.names.join(', ') ?? null, customNotAfter: r.custom ? r.custom.notAfter.slice(0, 10) : null,
  }));
}

export function addSslPages(r: Router, deps: PageDeps): void {
  const tab = (id: number) => `/ui/admin/services/${id}?tab=ssl`;
  const kick = () => deps.scheduler.runNow('ssl-check', (line) => deps.logger.debug(line)).catch((err: Error) => deps.logger.debug(`ssl-check not started now: ${err.message}`));

  r.post('/admin/services/:id/ssl/check', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'service');
    await act(deps, s, res, tab(id), async () => {
      const role = roleOf(((req.body ?? {}) as Form).role);
      const out = await requestSslCheck(deps.db, id, role, { actor: actorOf(s), via: 'ui', admin: true });
      kick();
      return `${out.message}.`;
    });
  }));

  r.post('/admin/services/:id/ssl/custom', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'service');
    await act(deps, s, res, tab(id), async () => {
      const f = (req.body ?? {}) as Form;
      const role = roleOf(f.role);
      const out = await uploadCustomCertificate({ db: deps.db, masterKey: deps.masterKey, ...(deps.onTick ? { onTick: deps.onTick } : {}) }, id, role,
        { cert: str(f.certificate), key: str(f.private_key), chain: str(f.chain) }, actorOf(s), 'ui');
      return `Custom certificate for the ${role} role queued for installation (chain #${out.chain_id}).`;
    });
  }));

  r.post('/admin/services/:id/ssl/custom/remove', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'service');
    await act(deps, s, res, tab(id), async () => {
      const role = roleOf(((req.body ?? {}) as Form).role);
      const out = await removeCustomCertificate({ db: deps.db, masterKey: deps.masterKey, ...(deps.onTick ? { onTick: deps.onTick } : {}) }, id, role, actorOf(s), 'ui');
      return `Custom certificate of the ${role} role queued for removal (chain #${out.chain_id}); automatic SSL takes over again.`;
    });
  }));
}
