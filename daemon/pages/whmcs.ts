// The fragments the WHMCS module embeds: a service's client-area box and admin tab
// (GET /v1/services/<id>/view) and the addon's overview (GET /v1/admin/view), rendered from
// templates/views/whmcs with the pages' engine and progress model. The module shows them as they come.
import type { Knex } from 'knex';
import { InputError } from '../common/errors.ts';
import type { ServiceView } from '../services/reads.ts';
import { progressOf } from './progress.ts';
import { render } from './render.ts';
import { stateCounts } from './reads/services.ts';
import { listServers } from '../fleet/inventory.ts';

export type Audience = 'client' | 'admin';

/** A service's fragment for the client area or the admin tab, and how soon WHMCS should fetch it again. */
export function renderServiceFragment(v: ServiceView, audience: Audience): { html: string; refresh_s: number | null } {
  const prog = progressOf(v);
  const ph = prog.phase;
  const html = render(`whmcs/service-${audience}`, {
    v, prog, deploying: ph === 'deploying', failed: ph === 'failed', ready: ph === 'ready', busy: ph === 'busy',
  });
  return { html: html.trim() + '\n', refresh_s: ph === 'deploying' || ph === 'busy' ? 5 : null };
}

/** Admin pages the WHMCS addon embeds: the overview (services by state, the queue, the servers). */
const ADMIN_FRAGMENTS = ['overview'] as const;

export async function renderAdminFragment(db: Knex, page: string): Promise<{ html: string }> {
  if (!(ADMIN_FRAGMENTS as readonly string[]).includes(page)) {
    throw new InputError('page', `unknown page "${page.slice(0, 40)}"; one of ${ADMIN_FRAGMENTS.join(', ')}`, 404);
  }
  const [counts, servers] = await Promise.all([stateCounts(db), listServers(db)]);
  return { html: render('whmcs/admin-overview', { ...counts, servers }).trim() + '\n' };
}
