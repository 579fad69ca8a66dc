// Failure tickets from the command line: the ones WHMCS has not taken (refused for good, or waiting
// with the reason of their last try), and putting refused ones back in the outbox once the admin
// fixed the cause (a sender address, a department).
import { retryRefusedTickets, undeliveredTickets } from '../../whmcs/ticket-refusals.ts';
import { id, noMore, positional } from '../args.ts';
import type { CommandGroup } from '../command.ts';
import { withCore, report } from '../core.ts';
import { out } from '../io.ts';

export const ticketCommands: CommandGroup = {
  title: 'Failure tickets',
  commands: [
    {
      name: 'tickets list',
      usage: 'tickets list',
      describe: 'list tickets WHMCS has not taken: refused ones (with WHMCS\'s message) and those waiting after a failed try',
      async run(args, ctx) {
        noMore(args, 'tickets list');
        return withCore(ctx.config(), async (core) => {
          const rows = await undeliveredTickets(core.db, 500);
          if (rows.length === 0) out('every ticket was delivered or waits for its first try');
          for (const r of rows) {
            const service = r.whmcsServiceId === null ? '' : ` service #${r.whmcsServiceId}`;
            const notes = r.notesWaiting ? `, ${r.notesWaiting} note(s) waiting` : '';
            out(`#${r.id} ${r.state}${service} after ${r.attempts} attempt(s)${notes}: ${r.subject}\n    ${r.lastError}`);
          }
          return 0;
        });
      },
    },
    {
      name: 'tickets retry',
      usage: 'tickets retry <id|all>',
      describe: 'send a refused ticket (and its refused notes) again at the next delivery, or every refused one',
      async run(args, ctx) {
        const which = positional(args, 'a ticket id (from "tickets list") or all', 'tickets retry');
        const outboxId = which === 'all' ? 'all' : id(which, 'ticket id');
        noMore(args, 'tickets retry');
        return report(ctx.config(), (core) => retryRefusedTickets(core.db, outboxId));
      },
    },
  ],
};
