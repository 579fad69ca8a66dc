// Tickets WHMCS refuses for good. An OpenTicket or AddTicketNote answer that names a problem with
// the ticket itself (its sender address, department, client or service) comes back the same on every
// try, so the row is marked `refused` with WHMCS's message and left alone until an admin fixes the
// cause and retries it (`hostbridge tickets retry`). Anything else (WHMCS unreachable, bad API
// credentials or permissions) stays pending and is retried with back-off, as before.
import type { Knex } from 'knex';
import { dbNow } from '../db/connect.ts';
import { InputError, TerminalError } from '../common/errors.ts';
import { globalMasker } from '../log/mask.ts';
import { T } from '../common/tables.ts';

// WHMCS's documented error answers of OpenTicket and AddTicketNote (developers.whmcs.com,
// api-reference/openticket and addticketnote) that no retry can change. Not among them: "Unable to
// generate ticket number", which is WHMCS's own passing trouble.
const REFUSALS = [
  'client id not found', 'the system cannot find the provided user id.', 'contact id not found',
  'name and email address are required if not a client', 'department id not found', 'subject is required',
  'message is required', 'service id not found', 'domain id not found', 'email address invalid',
  'invalid date format', 'ticket creation date cannot be in the future', 'ticket id not found',
];

/** WHMCS's message when the error is a refusal of this ticket for good, else null. */
export function refusalOf(err: unknown): string | null {
  if (!(err instanceof TerminalError)) return null;
  const m = /^WHMCS API refused (OpenTicket|AddTicketNote): (.*)$/s.exec(err.message);
  if (!m) return null;
  return REFUSALS.includes(m[2].trim().toLowerCase()) ? m[2].trim() : null;
}

export interface UndeliveredTicket {
  id: number;
  /** refused, pending, or delivered with a refused note. */
  state: string;
  whmcsServiceId: number | null;
  subject: string;
  attempts: number;
  lastError: string;
  /** Notes not delivered yet (pending or refused). */
  notesWaiting: number;
}

/**
 * Tickets WHMCS has not taken: refused ones (or with a refused note), and pending ones whose last
 * try failed (with why), oldest first. What the admin sees on the Task Queue page and with `hostbridge tickets list`.
 */
export async function undeliveredTickets(db: Knex, limit = 50): Promise<UndeliveredTicket[]> {
  const rows = await db(`${T.ticketOutbox} as o`).leftJoin(`${T.services} as s`, 's.id', 'o.service_id')
    .select('o.id', 'o.state', 'o.subject', 'o.attempts', 'o.last_error', 's.whmcs_service_id')
    .where((w) => w.where('o.state', 'refused').orWhere((p) => p.where('o.state', 'pending').whereNotNull('o.last_error'))
      .orWhereExists((e) => e.select(db.raw('1')).from(`${T.ticketNotes} as n`).whereRaw('n.outbox_id = o.id').where('n.state', 'refused')))
    .orderBy('o.id').limit(limit);
  const notes: Array<{ outbox_id: number; n: number; refused: string | null }> = rows.length === 0 ? [] : await db(T.ticketNotes)
    .whereIn('outbox_id', rows.map((r) => r.id)).whereNot('state', 'delivered')
    .select('outbox_id', db.raw("max(case when state = 'refused' then last_error end) as refused")).count({ n: '*' }).groupBy('outbox_id');
  const waiting = new Map(notes.map((n) => [Number(n.outbox_id), n]));
  return rows.map((r) => {
    const w = waiting.get(Number(r.id));
    // A delivered ticket is listed for a note WHMCS refused: that note's answer is the one to read.
    const error = r.last_error ?? (w?.refused ? `a note: ${w.refused}` : '');
    return {
      id: Number(r.id), state: r.state, whmcsServiceId: r.whmcs_service_id === null ? null : Number(r.whmcs_service_id), subject: r.subject,
      attempts: Number(r.attempts), lastError: globalMasker.mask(String(error)), notesWaiting: Number(w?.n ?? 0),
    };
  });
}

/**
 * Puts refused tickets (one, or every one) and their refused notes back in the outbox, due now: the
 * admin fixed the cause. Refuses, with the reason, a ticket that does not exist or is not refused.
 */
export async function retryRefusedTickets(db: Knex, outboxId: number | 'all'): Promise<string> {
  return db.transaction(async (trx) => {
    const now = await dbNow(trx);
    let ids: number[];
    if (outboxId === 'all') {
      ids = (await trx(T.ticketOutbox).where('state', 'refused').select('id')).map((r) => Number(r.id));
    } else {
      const row = await trx(T.ticketOutbox).where('id', outboxId).first('id', 'state');
      if (!row) throw new InputError('', `ticket #${outboxId} does not exist in the outbox; nothing was changed`, 404);
      ids = [Number(row.id)];
      if (row.state !== 'refused') {
        const notes = Number(((await trx(T.ticketNotes).where({ outbox_id: outboxId, state: 'refused' }).count({ n: '*' }).first()) as { n: number }).n);
        if (notes === 0) throw new InputError('', `ticket #${outboxId} is ${row.state}, not refused; nothing was changed`, 409);
      }
    }
    if (ids.length === 0) return 'no refused ticket';
    const tickets = await trx(T.ticketOutbox).whereIn('id', ids).where('state', 'refused').update({ state: 'pending', next_attempt_at: now });
    const notes = await trx(T.ticketNotes).whereIn('outbox_id', ids).where('state', 'refused').update({ state: 'pending', next_attempt_at: now });
    return `${tickets} ticket(s) and ${notes} note(s) back in the outbox, sent at the next delivery: ${ids.map((i) => '#' + i).join(' ')}`;
  });
}
