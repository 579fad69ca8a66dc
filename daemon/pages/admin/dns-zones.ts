// DNS Zones (seed 000): every zone a hosting service publishes, with its service, each DNS
// server's state, the record count and the last change, filtered by server and state, paged; and
// a Redeploy per zone, which queues republishing it on every DNS server of its service (through
// act(): the result or the refusal is shown and recorded with who did it); and what force
// terminates left on servers, until an admin marks each item cleaned up.
import type { Router } from 'express';
import { redeployZone } from '../../services/zone-redeploy.ts';
import { actorOf } from '../auth.ts';
import { act, idParam, page, requireAdmin, UiError, wrap } from '../http.ts';
import type { PageDeps } from '../deps.ts';
import { pageNo } from './services.ts';
import { dnsZonesPage, leftoversToClean, markLeftoverCleaned, ZONE_STATES, ZONES_PAGE } from '../reads/dns-zones.ts';

export function addDnsZonePages(r: Router, deps: PageDeps): void {
  const { db } = deps;

  r.get('/admin/dns-zones', wrap(async (req, res) => {
    requireAdmin(req);
    const state = (ZONE_STATES as readonly string[]).includes(String(req.query.state ?? '')) ? String(req.query.state) : '';
    const serverRaw = String(req.query.server ?? '');
    const server = /^[1-9][0-9]{0,9}$/.test(serverRaw) ? Number(serverRaw) : null;
    const pageN = pageNo(req.query.page);
    const [found, leftovers] = await Promise.all([dnsZonesPage(db, { server, state, page: pageN }), leftoversToClean(db)]);
    const query = `state=${encodeURIComponent(state)}&server=${server ?? ''}`;
    await page(deps, req, res, 'admin-dns-zones', {
      title: 'DNS Zones', nav: 'dns-zones', ...found, leftovers, states: ZONE_STATES, state, server: server ?? '', pageN, query,
      busy: found.zones.some((z) => z.busy),
      prev: pageN > 1 ? pageN - 1 : null, next: pageN * ZONES_PAGE < found.total ? pageN + 1 : null,
    });
  }));

  r.post('/admin/dns-zones/:id/redeploy', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'zone of service');
    await act(deps, s, res, '/ui/admin/dns-zones', async () => {
      const r = await redeployZone(db, id);
      if (r.created) deps.onTick?.();
      const on = `${r.servers.length} DNS server(s)`;
      return r.created
        ? `Zone ${r.zone} (service ${id}): republishing on ${on} queued as run #${r.chain_id}.`
        : `Zone ${r.zone} (service ${id}): a redeploy is already queued as run #${r.chain_id}.`;
    });
  }));

  r.post('/admin/dns-zones/leftovers/:id/cleaned', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'leftover');
    await act(deps, s, res, '/ui/admin/dns-zones', async () => {
      const done = await markLeftoverCleaned(db, id, actorOf(s), Date.now());
      if (!done) throw new UiError(404, `Leftover #${id} is not on the list (already marked cleaned up?); nothing was changed.`);
      return `Marked cleaned up: ${done.role} ${done.account ?? ''} of ${done.domain} on ${done.server}.`;
    });
  }));
}
