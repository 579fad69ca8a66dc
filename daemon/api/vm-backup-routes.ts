// /v1/services/{id}/backup-days, /backups and /backups/restore: a VM's backup weekdays, its backup
// and restore runs, and queuing a restore of one of its archives. The routes only write rows: the
// schedule-backup and restore-backup jobs act on Proxmox. {id} is WHMCS's service id.
import type express from 'express';
import type { ApiDeps } from './deps.ts';
import { jsonBody, pathId, wrap } from './route-helpers.ts';
import { InputError } from '../common/errors.ts';
import { checkBody } from '../common/bodies.ts';
import { serviceByWhmcsId } from '../services/store.ts';
import { backupDays, queueRestore, runsOfService, setBackupDays, WEEKDAYS } from '../services/vm-backups.ts';

export function addVmBackupRoutes(app: express.Router, deps: ApiDeps): void {
  const { db } = deps;
  app.put('/v1/services/:id/backup-days', wrap(async (req, res) => {
    const whmcsId = pathId(req.params.id, 'WHMCS service id');
    const body = checkBody<{ days: string[] }>('VmBackupDays', jsonBody(req));
    res.json({ ok: true, days: await setBackupDays(db, whmcsId, body.days) });
  }));
  app.get('/v1/services/:id/backups', wrap(async (req, res) => {
    const whmcsId = pathId(req.params.id, 'WHMCS service id');
    const svc = await serviceByWhmcsId(db, whmcsId);
    if (!svc || svc.mode !== 'kvm') throw new InputError('', `service ${whmcsId} is not a virtual server known to hostbridge`, 404);
    const days = (await backupDays(db, svc.id)).map((n) => WEEKDAYS[n]);
    const runs = (await runsOfService(db, svc.id)).map((r) => ({
      id: r.id, kind: r.kind, origin: r.origin, state: r.state, node: r.node, storage: r.storage, volid: r.volid, upid: r.upid,
      result: r.result, started_at: r.startedAt, finished_at: r.finishedAt, created_at: r.createdAt,
    }));
    res.json({ ok: true, days, keep: svc.vmPlan?.spec.backups ?? 0, runs });
  }));
  app.post('/v1/services/:id/backups/restore', wrap(async (req, res) => {
    const whmcsId = pathId(req.params.id, 'WHMCS service id');
    const body = checkBody<{ volid: string }>('VmRestore', jsonBody(req));
    const { id } = await queueRestore(db, whmcsId, body.volid);
    res.status(202).json({ ok: true, restore_id: id, state: 'queued' });
  }));
}
