// What the Web settings tab's changes leave for later chains (mod_hostbridge_web_settings, one row per
// service and role): the PHP (backend) and proxy templates the customer picked, which web.templates
// keeps on every deploy, redeploy and package change while the web server offers them; and the
// aliases whose A record the service's zone holds, which every converge of the zone publishes.
import type { Knex } from 'knex';
import { T } from '../../common/tables.ts';

type Db = Knex | Knex.Transaction;
export type ChoiceKind = 'backend' | 'proxy';

export interface WebSettings {
  backend: string | null;
  proxy: string | null;
  /** Full host names under the service's domain, each an A record in its zone. */
  dnsAliases: string[];
}

const ROLE = 'web';
const COLUMN: Record<ChoiceKind, 'backend_template' | 'proxy_template'> = { backend: 'backend_template', proxy: 'proxy_template' };

const list = (v: unknown) => String(v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

export async function webSettings(db: Db, serviceId: number): Promise<WebSettings> {
  const r = await db(T.webSettings).where({ service_id: serviceId, role: ROLE }).first();
  return { backend: r?.backend_template ?? null, proxy: r?.proxy_template ?? null, dnsAliases: list(r?.dns_aliases) };
}

async function upsert(db: Db, serviceId: number, cols: Record<string, unknown>): Promise<void> {
  const at = { ...cols, updated_at: Date.now() };
  await db(T.webSettings).insert({ service_id: serviceId, role: ROLE, ...at }).onConflict(['service_id', 'role']).merge(at);
}

/** The customer's template of one kind; null forgets it (the plan's default applies again). */
export async function saveTemplateChoice(db: Db, serviceId: number, kind: ChoiceKind, template: string | null): Promise<void> {
  await upsert(db, serviceId, { [COLUMN[kind]]: template });
}

export async function saveDnsAliases(db: Db, serviceId: number, aliases: string[]): Promise<void> {
  await upsert(db, serviceId, { dns_aliases: [...new Set(aliases)].sort().join(',') || null });
}

/** The stored aliases with one added or removed (what the zone holds once the change is published). */
export function aliasesWith(stored: string[], alias: string, change: 'add' | 'delete'): string[] {
  const rest = stored.filter((a) => a !== alias);
  return change === 'add' ? [...rest, alias] : rest;
}

/** An alias's name relative to the zone, or null when it is not inside it. */
export function aliasInZone(zone: string, alias: string): string | null {
  const z = zone.toLowerCase();
  const a = alias.toLowerCase();
  return a.endsWith(`.${z}`) ? a.slice(0, -(z.length + 1)) : null;
}
