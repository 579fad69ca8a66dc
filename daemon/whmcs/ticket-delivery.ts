// Delivers ticket intents from the outbox to WHMCS: OpenTicket for a new thread, AddTicketNote for
// later failures of the same operation. Rows that cannot be sent (WHMCS down, bad credentials) stay
// pending and are tried again with back-off; a row WHMCS refuses for good (ticket-refusals.ts) is
// marked refused and waits for the admin; nothing is dropped. Runs as an exclusive scheduled job,
// so one daemon delivers at a time.
import type { Knex } from 'knex';
import { dbNow } from '../db/connect.ts';
import { errorMessage } from '../common/errors.ts';
import type { SettingsCache } from '../settings/settings.ts';
import { callWhmcs } from './external-api.ts';
import { whmcsApiConfig } from './api-config.ts';
import { T } from '../common/tables.ts';
import { refusalOf } from './ticket-refusals.ts';


/** Back-off between delivery attempts: 30 s doubling to at most an hour. */
export function deliveryDelayMs(attempts: number): number {
  return Math.min(3_600_000, 30_000 * 2 ** Math.min(Math.max(0, attempts - 1), 20));
}

export interface DeliveryResult {
  opened: number;
  noted: number;
  failed: number;
  /** Refused by WHMCS for good in this pass: marked refused, not tried again until an admin retries them. */
  refused: number;
  pending: number;
}

export async function deliverTickets(db: Knex, settings: SettingsCache, masterKey: Buffer, log: (line: string) => void, limit = 50): Promise<DeliveryResult> {
  const s = settings.get();
  const pendingCount = async () => Number(((await db(T.ticketOutbox).where('state', 'pending').count({ n: '*' }).first()) as { n: number }).n)
    + Number(((await db(T.ticketNotes).where('state', 'pending').count({ n: '*' }).first()) as { n: number }).n);
  if (s['tickets.enabled'] !== 'true') {
    return { opened: 0, noted: 0, failed: 0, refused: 0, pending: await pendingCount() };
  }
  const { api, missing } = await whmcsApiConfig(db, s, masterKey);
  if (!s['tickets.department_id']) missing.push('tickets.department_id');
  if (missing.length) throw new Error(`tickets are enabled but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set`);

  const result: DeliveryResult = { opened: 0, noted: 0, failed: 0, refused: 0, pending: 0 };
  const now = await dbNow(db);
  const fail = async (table: string, row: { id: number; attempts: number }, err: unknown) => {
    const attempts = row.attempts + 1;
    const what = table === T.ticketOutbox ? 'ticket' : 'note';
    const refusal = refusalOf(err);
    if (refusal !== null) {
      await db(table).where('id', row.id).update({ state: 'refused', attempts, last_error: errorMessage(err).slice(0, 2000) });
      result.refused++;
      log(`${what} #${row.id}: refused by WHMCS (${refusal}); not tried again: fix the cause, then run "hostbridge tickets retry ${table === T.ticketOutbox ? row.id : 'all'}"`);
      return;
    }
    const delay = deliveryDelayMs(attempts);
    await db(table).where('id', row.id).update({ attempts, next_attempt_at: now + delay, last_error: errorMessage(err).slice(0, 2000) });
    result.failed++;
    log(`${what} #${row.id}: not delivered (${errorMessage(err)}); next try in ${Math.round(delay / 1000)} s`);
  };

  const tickets = await db(`${T.ticketOutbox} as o`).leftJoin(`${T.services} as s`, 's.id', 'o.service_id')
    .select('o.*', 's.whmcs_service_id').where('o.state', 'pending').where('o.next_attempt_at', '<=', now).orderBy('o.id').limit(limit);
  for (const t of tickets) {
    try {
      const clientId = t.whmcs_service_id ? await clientOfService(db, Number(t.whmcs_service_id)) : null;
      // WHMCS opens a ticket for a client, or for a named sender with a valid address; with neither it
      // would refuse the ticket, so it waits here, saying which setting it needs.
      if (!clientId && !s['tickets.sender_email']) {
        const why = t.whmcs_service_id ? ` (the daemon finds no client of service #${t.whmcs_service_id} in tblhosting)` : '';
        throw new Error(`WHMCS has no client for this ticket${why} and tickets.sender_email is not set: set it to an address such as hostbridge@billing.example.com`);
      }
      const r = await callWhmcs(api, 'OpenTicket', {
        deptid: Number(s['tickets.department_id']), subject: t.subject, message: t.body, priority: s['tickets.priority'],
        ...(clientId ? { clientid: clientId, serviceid: Number(t.whmcs_service_id) } : { name: s['tickets.sender_name'], email: s['tickets.sender_email'] }),
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
  const reopened = new Set<number>();
  for (const n of notes) {
    if (reopened.has(Number(n.outbox_id))) continue;
    try {
      await callWhmcs(api, 'AddTicketNote', { ticketid: Number(n.whmcs_ticket_id), message: n.body, markdown: false });
      await db(T.ticketNotes).where('id', n.id).update({ state: 'delivered', delivered_at: await dbNow(db), last_error: null, attempts: n.attempts + 1 });
      result.noted++;
      log(`note #${n.id}: added to WHMCS ticket ${n.whmcs_ticket_id}`);
    } catch (err) {
      if (/^ticket id not found$/i.test(refusalOf(err) ?? '')) {
        // The admin deleted the ticket in WHMCS: the operation failed again, so the thread opens anew
        // (its first message, then the notes still waiting), rather than every later failure being refused.
        await db(T.ticketOutbox).where({ id: n.outbox_id, state: 'delivered', whmcs_ticket_id: n.whmcs_ticket_id }).update({
          state: 'pending', whmcs_ticket_id: null, delivered_at: null, next_attempt_at: now,
          last_error: `WHMCS ticket ${n.whmcs_ticket_id} no longer exists (Ticket ID not found): opened again at the next delivery`,
        });
        reopened.add(Number(n.outbox_id));
        result.failed++;
        log(`note #${n.id}: WHMCS ticket ${n.whmcs_ticket_id} no longer exists; ticket #${n.outbox_id} will be opened again, with this note`);
        continue;
      }
      await fail(T.ticketNotes, n, err);
    }
  }
  result.pending = await pendingCount();
  return result;
}

/**
 * The WHMCS client owning a service, read from tblhosting when the daemon shares WHMCS's database;
 * null when the service or its client is gone (WHMCS would refuse "Client ID Not Found").
 */
export async function clientOfService(db: Knex, whmcsServiceId: number): Promise<number | null> {
  try {
    const row = await db('tblhosting as h').join('tblclients as c', 'c.id', 'h.userid').where('h.id', whmcsServiceId).first('h.userid');
    return row ? Number(row.userid) : null;
  } catch {
    return null; // no WHMCS tables here (the embedded SQLite database): the ticket goes out without a client
  }
}
