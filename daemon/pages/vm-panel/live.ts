// The panel's live figures (GET /v1/services/{id}/panel/live), which the Overview's small script
// fetches every few seconds through the module's VmLive function: Proxmox's current status of the
// VM and the progress of the action running on it. Nothing secret: figures, labels and states.
import type { Knex } from 'knex';
import { vmRecord } from '../../services/vm-store.ts';
import { VmReads } from './cluster-reads.ts';
import { busyOf, ownedVmService } from './panel.ts';

export interface PanelLive {
  ok: true;
  state: string;
  /** Proxmox's status (running, stopped…); null when the cluster cannot be read right now. */
  status: string | null;
  uptime_s: number | null;
  /** CPU use as a fraction of the VM's vCPUs (0–1). */
  cpu: number | null;
  mem: number | null;
  maxmem: number | null;
  disk: number | null;
  maxdisk: number | null;
  netin: number | null;
  netout: number | null;
  live_error: string | null;
  busy: boolean;
  busy_message: string | null;
  progress: null | { operation: string | null; state: string; done: number; total: number; percent: number; current: string | null; steps: Array<{ label: string; status: string; word: string }> };
}

export async function panelLive(deps: { db: Knex; masterKey: Buffer }, whmcsServiceId: number, clientId: number | undefined): Promise<PanelLive> {
  const svc = await ownedVmService(deps.db, whmcsServiceId, clientId);
  const [busy, row] = await Promise.all([busyOf(deps.db, svc), vmRecord(deps.db, svc.id)]);
  const out: PanelLive = {
    ok: true, state: svc.state, status: null, uptime_s: null, cpu: null, mem: null, maxmem: null, disk: null, maxdisk: null, netin: null, netout: null,
    live_error: row?.vmid ? null : 'the virtual server is not created yet', busy: busy.busy, busy_message: busy.message,
    progress: busy.prog.operation === null ? null : {
      operation: busy.prog.operation, state: busy.chainState ?? 'unknown', done: busy.prog.done, total: busy.prog.total, percent: busy.prog.percent, current: busy.prog.current,
      steps: busy.prog.steps.map((s) => ({ label: s.label, status: s.status, word: s.word })),
    },
  };
  if (!row?.vmid) return out;
  const reads = new VmReads(deps.db, deps.masterKey, { clusterId: row.clusterId, vmid: row.vmid, node: row.node });
  try {
    const st = await reads.status();
    if (!st.ok) {
      out.live_error = 'the live figures cannot be read right now';
      return out;
    }
    const s = st.value;
    Object.assign(out, { status: s.status, uptime_s: s.uptime, cpu: s.cpu, mem: s.mem, maxmem: s.maxmem, disk: s.disk, maxdisk: s.maxdisk, netin: s.netin, netout: s.netout });
    return out;
  } finally {
    await reads.close();
  }
}
