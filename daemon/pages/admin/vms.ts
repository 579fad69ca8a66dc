// VM Management (seed 003): every KVM service's VM with its state, node, VMID, addresses and last
// run; one VM's card and its last 50 runs, step by step, with a red banner when the last run
// failed; Reset VM status (resetVmStatus: the state only, nothing on the cluster) and Delete record
// (the force-terminate chain: releases the addresses and closes the service without asking
// Proxmox), each through act(), so the result or the refusal is shown and recorded with who did it.
import type { Router } from 'express';
import { resetVmStatus } from '../../services/vm-lifecycle.ts';
import { serviceOperation } from '../../services/lifecycle.ts';
import { serviceByWhmcsId } from '../../services/store.ts';
import { vmView } from '../../services/vm-view.ts';
import { act, idParam, page, requireAdmin, UiError, wrap } from '../http.ts';
import type { PageDeps } from '../deps.ts';
import { pageNo } from './services.ts';
import { deleteRecordRefusal, VM_STATES, VMS_PAGE, vmRuns, vmsPage } from '../reads/vms.ts';

/** The states Reset VM status sets, what each means and when to use it (docs/proxmox.md "States"). */
export const RESET_TARGETS = [
  {
    state: 'active', means: 'the VM runs with its plan applied (the seed\'s "ready"); the power buttons, package changes and Suspend work again',
    when: 'the VM was repaired or finished by hand on the cluster and runs as ordered, but the service is still shown failed (or deploying after a crash)',
  },
  {
    state: 'failed', means: 'a step failed for good; Retry (Verify & Repair) or CreateAccount runs the deploy again, each step skipping what is already done',
    when: 'a VM is stuck half-deployed or broken and should be deployed again from WHMCS',
  },
  {
    state: 'suspended', means: 'the VM is stopped by a Suspend; Unsuspend starts it again',
    when: 'the VM was stopped by hand (or a Suspend\'s chain failed after the VM had stopped) and WHMCS shows the service suspended',
  },
] as const;

/** The badge class of a state: error_terminate and failed are red. */
function badge(state: string): string {
  return state === 'error_terminate' ? 'failed' : state;
}

export function addVmPages(r: Router, deps: PageDeps): void {
  const { db } = deps;

  r.get('/admin/vms', wrap(async (req, res) => {
    requireAdmin(req);
    const state = VM_STATES.includes(String(req.query.state ?? '')) ? String(req.query.state) : '';
    const pageN = pageNo(req.query.page);
    const found = await vmsPage(db, { state, page: pageN });
    await page(deps, req, res, 'admin-vms', {
      title: 'VM Management', nav: 'vms', ...found, vms: found.vms.map((v) => ({ ...v, badge: badge(v.state) })),
      byState: found.byState.map((b) => ({ ...b, badge: badge(b.state) })),
      states: VM_STATES, state, pageN, prev: pageN > 1 ? pageN - 1 : null, next: pageN * VMS_PAGE < found.total ? pageN + 1 : null,
    });
  }));

  r.get('/admin/vms/:id', wrap(async (req, res) => {
    requireAdmin(req);
    const id = idParam(req.params.id, 'VM of service');
    const svc = await serviceByWhmcsId(db, id);
    const runs = svc?.vmPlan ? await vmRuns(db, id) : null;
    if (!svc?.vmPlan || !runs) throw new UiError(404, `Service ${id} has no VM (it is not a KVM service known to hostbridge).`);
    const vm = await vmView(db, svc.id, svc.state, svc.vmPlan);
    await page(deps, req, res, 'admin-vm', {
      title: `VM of service ${id}`, nav: 'vms', id, vm, ...runs, badge: badge(runs.state),
      targets: RESET_TARGETS, canReset: runs.state !== 'terminated' && !runs.running,
    });
  }));

  r.post('/admin/vms/:id/reset-status', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'VM of service');
    await act(deps, s, res, `/ui/admin/vms/${id}`, async () => {
      const state = typeof req.body?.state === 'string' ? req.body.state : '';
      const answer = await resetVmStatus(db, id, { state });
      return `VM of service ${id}: ${answer.message ?? `state set to ${answer.state}`}.`;
    });
  }));

  r.post('/admin/vms/:id/delete-record', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'VM of service');
    await act(deps, s, res, `/ui/admin/vms/${id}`, async () => {
      if (req.body?.confirm !== 'yes') throw new UiError(422, `confirm: tick "I understand" to delete the record of service ${id}; nothing was changed.`);
      const refusal = await deleteRecordRefusal(db, id);
      if (refusal) throw new UiError(409, `Delete record refused: ${refusal}; nothing was changed.`);
      const answer = await serviceOperation(deps.queue, deps.masterKey, 'force-terminate', id, {});
      if (answer.created) deps.onTick?.();
      if (answer.chain_id === null) return `Delete record of service ${id}: ${answer.message ?? 'nothing to do'}.`;
      return `Delete record of service ${id} queued as run #${answer.chain_id}: its addresses are released, its WHMCS fields cleared and the service closed. Nothing was asked of Proxmox: remove the VM there by hand if it still exists.`;
    });
  }));
}
