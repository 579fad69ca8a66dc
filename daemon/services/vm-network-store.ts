// What the customer asked of their VM in the panel's network and media tabs (issue 16): the ISO in
// its CD-ROM drive, its firewall rules and a reverse DNS name per address. The steps read these
// and make the VM (or the DNS) equal to them, so a step run again, or after a failure, reaches
// the same end.
import type { Knex } from 'knex';
import { nowMs } from '../db/connect.ts';
import { T } from '../common/tables.ts';
import type { WantedRule } from '../pipelines/vm-extras-plan.ts';

type Db = Knex | Knex.Transaction;
type Row = Record<string, any>;

/** The ISO wanted in the VM's CD-ROM drive, null for none (or never asked). */
export async function wantedIso(db: Db, serviceId: number): Promise<string | null> {
  const r = await db(T.vmIso).where('service_id', serviceId).first('volid');
  return r?.volid ? String(r.volid) : null;
}

export async function setWantedIso(trx: Knex.Transaction, serviceId: number, volid: string | null): Promise<void> {
  // Under the service's row lock (the caller's transaction): no other writer between the read and the write.
  if (await trx(T.vmIso).where('service_id', serviceId).first('service_id')) await trx(T.vmIso).where('service_id', serviceId).update({ volid, updated_at: nowMs(trx) });
  else await trx(T.vmIso).insert({ service_id: serviceId, volid, updated_at: nowMs(trx) });
}

/** The VM's rules in order. */
export async function wantedRules(db: Db, serviceId: number): Promise<WantedRule[]> {
  const rows = await db(T.vmFirewallRules).where('service_id', serviceId).orderBy('pos');
  return rows.map((r: Row) => {
    const rule: WantedRule = { action: r.action, type: r.direction };
    if (r.proto) rule.proto = String(r.proto);
    if (r.dport) rule.dport = String(r.dport);
    if (r.source) rule.source = String(r.source);
    if (r.comment) rule.comment = String(r.comment);
    return rule;
  });
}

/** Replaces the VM's rules with `rules`, in their order. */
export async function setWantedRules(trx: Knex.Transaction, serviceId: number, rules: WantedRule[]): Promise<void> {
  await trx(T.vmFirewallRules).where('service_id', serviceId).del();
  if (rules.length === 0) return;
  await trx(T.vmFirewallRules).insert(rules.map((r, pos) => ({
    service_id: serviceId, pos, action: r.action, direction: r.type, proto: r.proto ?? null, dport: r.dport ?? null,
    source: r.source ?? null, comment: r.comment ?? null, updated_at: nowMs(trx),
  })));
}

/** The PTR names the customer chose, by address (canonical text); an address without one takes the VM's host name. */
export async function wantedPtrNames(db: Db, serviceId: number): Promise<Map<string, string>> {
  const rows = await db(T.vmRdns).where('service_id', serviceId).select('ip', 'name');
  return new Map(rows.map((r: Row) => [String(r.ip), String(r.name)]));
}

/** Sets (or, with null, resets to the host name) the PTR name of one of the VM's addresses. */
export async function setWantedPtrName(trx: Knex.Transaction, serviceId: number, ip: string, name: string | null): Promise<void> {
  await trx(T.vmRdns).where({ service_id: serviceId, ip }).del();
  if (name !== null) await trx(T.vmRdns).insert({ service_id: serviceId, ip, name, updated_at: nowMs(trx) });
}
