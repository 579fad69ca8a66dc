// The hosting panel's live progress (GET /v1/services/{id}/hosting-panel/live), which the panel's
// script polls through the module's HostingLive function while an action runs: the service's state
// and the running chain's steps. Nothing secret: labels and states.
import type { Knex } from 'knex';
import { ownedHostingService } from '../../services/hosting-panel/dispatch.ts';
import { hostingBusy } from './panel.ts';

export interface HostingLive {
  ok: true;
  state: string;
  /** Kept null: the VM panel's script reads these for its figures; a hosting service has none live. */
  status: null;
  live_error: null;
  busy: boolean;
  busy_message: string | null;
  progress: null | { operation: string | null; state: string; done: number; total: number; percent: number; current: string | null; steps: Array<{ label: string; status: string; word: string }> };
}

export async function hostingLive(db: Knex, whmcsServiceId: number, clientId: number | null): Promise<HostingLive> {
  const svc = await ownedHostingService(db, whmcsServiceId, clientId);
  const b = await hostingBusy(db, svc);
  return {
    ok: true, state: svc.state, status: null, live_error: null, busy: b.busy, busy_message: b.message,
    progress: b.prog.operation === null ? null : {
      operation: b.prog.operation, state: b.chainState ?? 'unknown', done: b.prog.done, total: b.prog.total, percent: b.prog.percent, current: b.prog.current,
      steps: b.prog.steps.map((s) => ({ label: s.label, status: s.status, word: s.word })),
    },
  };
}
