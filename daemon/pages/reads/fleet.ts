// What the Infrastructure and Server groups pages read beyond the inventory's own views: the
// HestiaCP binary path of each server (the edit form shows it) and a group as its edit form needs it.
import type { Knex } from 'knex';
import { T } from '../../common/tables.ts';
import { listServers, type ServerView } from '../../fleet/inventory.ts';

type Row = Record<string, any>;

/** Every server with its HestiaCP binary path (null: the default). */
export async function serversWithBin(db: Knex): Promise<Array<ServerView & { hestia_bin: string | null }>> {
  const [servers, bins] = await Promise.all([listServers(db), db(T.servers).select('id', 'hestia_bin')]);
  const bin = new Map(bins.map((r: Row) => [Number(r.id), r.hestia_bin as string | null]));
  return servers.map((s) => ({ ...s, hestia_bin: bin.get(s.id) ?? null }));
}

/** One server's HestiaCP binary path ('' for the default). */
export async function serverHestiaBin(db: Knex, id: number): Promise<string> {
  const row = await db(T.servers).where('id', id).first('hestia_bin');
  return row?.hestia_bin ?? '';
}

/** A server group with its members, DNS servers, vanity domains and reserved names; null when there is none. */
export async function groupForEdit(db: Knex, id: number) {
  const g: Row | undefined = await db(T.groups).where('id', id).first();
  if (!g) return null;
  const [members, dns, vanity, reserved, servers] = await Promise.all([
    db(T.members).where('group_id', id).pluck('server_id'), db(T.groupDns).where('group_id', id).pluck('server_id'),
    db(T.vanity).where('group_id', id).orderBy('domain'), db(T.reserved).where('group_id', id).orderBy('name').pluck('name'), listServers(db),
  ]);
  return { group: g, members: members.map(Number), dns: dns.map(Number), vanity: vanity as Row[], reserved: reserved.map(String), servers };
}
