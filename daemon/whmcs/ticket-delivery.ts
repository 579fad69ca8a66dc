// Delivers ticket intents from the outbox to WHMCS: OpenTicket for a new thread, AddTicketNote for
// later failures of the same operation. Rows that cannot be sent (WHMCS down, bad settings) stay
// pending and are tried again with back-off; nothing is dropped. Runs as an exclusive scheduled
// job, so one daemon delivers at a time.
import type { Knex } from 'knex';
import { dbNow } from '../db/connect.ts';
import { errorMessage } from '../common/errors.ts';
import { readSecretSetting, type SettingsCache } from '../settings/settings.ts';
import { callWhmcs, type WhmcsApiConfig } from './external-api.ts';
import { globalMasker } from '../log/mask.ts';
import { T } from '../common/tables.ts';


/** Back-off between delivery attempts: 30 s doubling to at most an hour. */
export function deliveryDelayMs(attempts: number): number {
  return Math.min(3_600_000, 30_000 * 2 ** Math.min(Math.max(0, attempts - 1), 20));
}

export interface DeliveryResult {
  opened: number;
  noted: number;
  failed: number;
  pending: number;
}

export async function deliverTickets(db: Knex, settings: SettingsCache, masterKey: Buffer, log: (line: string) => void, limit = 50): Promise<DeliveryResult> {
  const s = settings.get();
  const pendingCount = async () => Number(((await db(T.ticketOutbox).where('state', 'pending').count({ n: '*' }).first()) as { n: number }).n)
    + Number(((await db(T.ticketNotes).where('state', 'pending').count({ n: '*' }).first()) as { n: number }).n);
  if (s['tickets.enabled'] !== 'true') {
    return { opened: 0, noted: 0, failed: 0, pending: await pendingCount() };
  }
  const missing = ['whmcs.api_url', 'whmcs.api_identifier', 'tickets.department_id'].filter((k) => !s[k]);
  const api: WhmcsApiConfig = {
    url: s['whmcs.api_url'], identifier: s['whmcs.api_identifier'],
    secret: await readSecretSetting(db, 'whmcs.api_secret', masterKey),
    accessKey: (await readSecretSetting(db, 'whmcs.api_access_key', masterKey)) || undefined,
  };
  // Masked in every log line from here on, whatever a failure message might echo.
  globalMasker.add(api.secret).add(api.accessKey);
  if (!api.secret) missing.push('whmcs.api_secret');
  if (missing.length) throw new Error(`tickets are enabled but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set`);

  const result: DeliveryResult = { opened: 0, noted: 0, failed: 0, pending: 0 };
  const now = await dbNow(db);
  const fail = async (table: string, row: { id: number; attempts: number }, err: unknown) => {
    const attempts = row.attempts + 1;
    const delay = deliveryDelayMs(attempts);
    await db(table).where('id', row.id).update({ attempts, next_attempt_at: now + delay, last_error: errorMessage(err).slice(0, 2000) });
    result.failed++;
    log(`${table === T.ticketOutbox ? 'ticket' : 'note'} #${row.id}: not delivered (${errorMessage(err)}); next try in ${Math.round(delay / 1000)} s`);
  };

  const tickets = await db(`${T.ticketOutbox} as o`).leftJoin(`${T.services} as s`, 's.id', 'o.service_id')
    .select('o.*', 's.whmcs_service_id').where('o.state', 'pending').where('o.next_attempt_at', '<=', now).orderBy('o.id').limit(limit);
  for (const t of tickets) {
    try {
      const clientId = t.whmcs_service_id ? await clientOfService(db, Number(t.whmcs_service_id)) : null;
      const r = await callWhmcs(api, 'OpenTicket', {
        deptid: Number(s['tickets.department_id']), subject: t.subject, message: t.body, priority: s['tickets.priority'],
        ...(clientId ? { clientid: clientId, serviceid: Number(t.whmcs_service_id) } : { name: 'hostbridge', email: 'hostbridge@localhost' }),
        admin: true, markdown: false,
      });
      await db(T.ticketOutbox).where('id', t.id).update({ state: 'delivered', whmcs_ticket_id: Number(r.id), delivered_at: await dbNow(db), last_error: null, attempts: t.attempts + 1 });
      result.opened++;
      log(`ticket #${t.id}: opened WHMCS ticket ${String(r.tid ?? r.id)} (${t.subject})`);
    } catch (err) {
      await fail(T.ticketOutbox, t, err);
    }
  }

  // Notes go on tickets that exist in WHMCS; a note whose ticket is still pending waits for it.
  const notes = await db(`${T.ticketNotes} as n`).join(`${T.ticketOutbox} as o`, 'o.id', 'n.outbox_id')
    .select('n.*', 'o.whmcs_ticket_id').where('n.state', 'pending').where('o.state', 'delivered')
    .where('n.next_attempt_at', '<=', now).orderBy('n.id').limit(limit);
  for (const n of notes) {
    try {
      await callWhmcs(api, 'AddTicketNote', { ticketid: Number(n.whmcs_ticket_id), message: n.body, markdown: false });
      await db(T.ticketNotes).where('id', n.id).update({ state: 'delivered', delivered_at: await dbNow(db), last_error: null, attempts: n.attempts + 1 });
      result.noted++;
      log(`note #${n.id}: added to WHMCS ticket ${n.whmcs_ticket_id}`);
    } catch (err) {
      await fail(T.ticketNotes, n, err);
    }
  }
  result.pending = await pendingCount();
  return result;
}

/** The WHMCS client owning a service, read from tblhosting when the daemon shares WHMCS's database. */
async function clientOfService(db: Knex, whmcsServiceId: number): Promise<number | null> {
  try {
    const row = await db('tblhosting').where('id', whmcsServiceId).first('userid');
    return row ? Number(row.userid) : null;
  } catch {
    return null; // no WHMCS tables here (the embedded SQLite database): the ticket goes out without a client
  }
}
