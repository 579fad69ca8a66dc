// Admin pages the WHMCS addon embeds. The overview is served now; the full admin panel (task
// queue, infrastructure, settings) is rendered here as it is built.
import type { Knex } from 'knex';
import { T } from '../common/tables.ts';
import { listServers } from '../fleet/inventory.ts';
import { InputError } from '../common/errors.ts';
import { renderPage } from './render.ts';

const PAGES = ['overview'] as const;

export async function renderAdminPage(db: Knex, page: string): Promise<{ html: string }> {
  if (!(PAGES as readonly string[]).includes(page)) throw new InputError('page', `unknown page "${page.slice(0, 40)}"; one of ${PAGES.join(', ')}`, 404);
  const [services, tasks, servers] = await Promise.all([
    db(T.services).select('state').count({ n: '*' }).groupBy('state').orderBy('state'),
    db(T.tasks).select('status').count({ n: '*' }).groupBy('status').orderBy('status'),
    listServers(db),
  ]);
  return { html: renderPage('admin-overview', { services, tasks, servers }) };
}
