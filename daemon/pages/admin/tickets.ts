// Failure tickets WHMCS refused for good, from the Task Queue page: Send again puts one refused
// ticket (or every one) back in the outbox, as `hostbridge tickets retry` does, once the admin has
// fixed the cause. The result, or why nothing was changed, is recorded with the admin who asked.
import type { Router } from 'express';
import { retryRefusedTickets } from '../../whmcs/ticket-refusals.ts';
import { act, backTo, idParam, requireAdmin, wrap } from '../http.ts';
import type { PageDeps } from '../deps.ts';

export function addTicketPages(r: Router, deps: PageDeps): void {
  r.post('/admin/tickets/:id/retry', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const which = String(req.params.id);
    await act(deps, s, res, backTo(req.body?.back, '/ui/admin/tasks'), async () => {
      const id = which === 'all' ? 'all' : idParam(which, 'failure ticket');
      const msg = await retryRefusedTickets(deps.db, id);
      return `Failure tickets: ${msg}.`;
    });
  }));
}
