// Ticket intents, written in the same transaction as the terminal failure that causes them.
// One thread per failing operation: the first failure queues a new ticket, later failures of
// the same operation queue a note on it. A delivery worker sends them to WHMCS. The engine calls
// ticketOnTaskFailed as its onTaskFailed hook, inside the failing transaction.
import type { Knex } from 'knex';
import { dbNow, isUniqueViolation } from '../db/connect.ts';
import type { TaskFailure } from '../engine/hooks.ts';
import { renderTicket, ticketSubject, type TicketFacts } from './ticket-templates.ts';
import { T } from '../common/tables.ts';

export function threadKey(serviceId: number | null, operation: string, type: string): string {
  return serviceId !== null ? `service:${serviceId}:${operation}` : `type:${type}:${operation}`;
}

/**
 * A task target as the admin knows it: "server:6" becomes the server's name and address from the
 * fleet inventory ("web-2 (web2.example.net, 192.0.2.6)"); a server since removed says so.
 */
export async function targetName(db: Knex | Knex.Transaction, target: string | null): Promise<string | null> {
  const m = target === null ? null : /^server:(\d+)$/.exec(target);
  if (!m) return target;
  const server = await db(T.servers).where('id', Number(m[1])).first('name', 'hostname', 'ip');
  if (!server) return `a server no longer in the inventory (id ${m[1]})`;
  const address = server.hostname && server.hostname !== server.ip ? `${server.hostname}, ${server.ip}` : server.ip;
  return `${server.name} (${address})`;
}

export async function recordTicketIntent(
  trx: Knex.Transaction, now: number, serviceId: number | null, engineFacts: TicketFacts,
): Promise<{ outboxId: number; note: boolean }> {
  const facts = { ...engineFacts, target: await targetName(trx, engineFacts.target) };
  const key = threadKey(serviceId, facts.operation, facts.type);
  const existing = await trx(T.ticketOutbox).where('thread_key', key).first('id');
  if (!existing) {
    try {
      // A savepoint, so a concurrent insert of the same thread only undoes this statement.
      const id = await trx.transaction(async (sp) => {
        const [newId] = await sp(T.ticketOutbox).insert({
          thread_key: key, service_id: serviceId, operation: facts.operation, task_id: facts.taskId,
          subject: ticketSubject(facts), body: renderTicket('task-failed', facts), state: 'pending',
          attempts: 0, next_attempt_at: now, created_at: now,
        });
        return Number(newId);
      });
      return { outboxId: id, note: false };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
  }
  const thread = existing ?? (await trx(T.ticketOutbox).where('thread_key', key).first('id'));
  await trx(T.ticketNotes).insert({
    outbox_id: thread.id, task_id: facts.taskId, body: renderTicket('task-failed-again', facts),
    state: 'pending', attempts: 0, next_attempt_at: now, created_at: now,
  });
  return { outboxId: Number(thread.id), note: true };
}

/** A task failed for good: the ticket intent, with the WHMCS service it concerns when there is one. */
export async function ticketOnTaskFailed(trx: Knex.Transaction, f: TaskFailure): Promise<void> {
  const service = f.serviceId === null ? undefined : await trx(T.services).where('id', f.serviceId).first('whmcs_service_id', 'mode');
  await recordTicketIntent(trx, await dbNow(trx), f.serviceId, {
    operation: f.operation, step: f.step, taskId: f.taskId, type: f.type, target: f.target, attempts: f.attempts,
    error: f.reason, terminal: f.terminal, whmcsServiceId: service?.whmcs_service_id ?? null, mode: service?.mode ?? null,
  });
}
