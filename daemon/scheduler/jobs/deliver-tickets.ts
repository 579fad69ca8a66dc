// deliver-tickets: sends the failure tickets and notes waiting in the outbox to WHMCS.
// Interval: scheduler.deliver-tickets.interval_s (30 s); off while tickets.enabled is not true.
import type { Job, JobDeps } from '../scheduler.ts';
import { deliverTickets } from '../../whmcs/ticket-delivery.ts';

export function deliverTicketsJob({ db, settings, masterKey }: Pick<JobDeps, 'db' | 'settings' | 'masterKey'>): Job {
  return {
    name: 'deliver-tickets',
    describe: 'Sends failure tickets and notes from the outbox to WHMCS (OpenTicket, AddTicketNote), with back-off while WHMCS is unreachable; a ticket WHMCS refuses for good is marked refused',
    defaultIntervalS: 30,
    async run(ctx) {
      const r = await deliverTickets(db, settings, masterKey, ctx.log);
      if (settings.get()['tickets.enabled'] !== 'true') return `ticket delivery is off (tickets.enabled); ${r.pending} pending`;
      const refused = r.refused ? `, ${r.refused} refused by WHMCS (see "hostbridge tickets list")` : '';
      return `opened ${r.opened} ticket(s), added ${r.noted} note(s), ${r.failed} not delivered${refused}, ${r.pending} pending`;
    },
  };
}
