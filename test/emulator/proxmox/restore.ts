// Restoring a vzdump archive: POST /nodes/{node}/qemu with `archive` (a `qmrestore` task). As in
// qemu-server's create_vm: with an archive no VM option may be given; an archive that is not a
// backup volume, a VMID that exists without `force`, a VMID on another node, a running or
// protected VM are refused before the fork (a 500 to the caller); a config lock fails the task.
// The VM keeps its config (the emulator does not store it in the archive) and ends stopped,
// unless `start` is set.
import { checkLock, type Ctx, fork } from './context.ts';
import { die, paramError, TaskFailure } from './errors.ts';
import type { Router } from './http.ts';
import { NODE, opt, STORAGE_ID, validate, VMID } from './schema.ts';
import { nowSec, splitVolid } from './state.ts';

const RESTORE_PARAMS = new Set(['node', 'vmid', 'archive', 'storage', 'force', 'unique', 'start', 'pool', 'bwlimit', 'live-restore']);

export function restoreRoutes(r: Router, ctx: Ctx): void {
  const c = ctx.cluster;

  r.add('POST', '/nodes/{node}/qemu', (req) => {
    // A create without an archive is not emulated: every hostbridge VM is a clone.
    if (req.params.archive === undefined) paramError({ archive: 'creating a VM from scratch is not emulated; give archive to restore a backup' });
    for (const k of Object.keys(req.params)) if (!RESTORE_PARAMS.has(k)) paramError({ [k]: "option conflicts with option 'archive'" });
    const p = validate({
      node: NODE, vmid: VMID, archive: { type: 'string', maxLength: 255 }, storage: opt(STORAGE_ID), force: opt({ type: 'boolean' }),
      unique: opt({ type: 'boolean' }), start: opt({ type: 'boolean' }), pool: opt({ type: 'string' }), bwlimit: opt({ type: 'integer', min: 0 }),
      'live-restore': opt({ type: 'boolean' }),
    }, req.params);
    const node = String(p.node);
    const vmid = Number(p.vmid);
    const archive = String(p.archive);
    c.node(node);
    const emsg = `unable to restore VM ${vmid} -`;
    const [sid] = splitVolid(archive);
    if (!sid) die(`${emsg} can't parse volume id '${archive}'`);
    c.storage(sid, node);
    const vol = c.findVolume(node, archive);
    if (!vol) die(`${emsg} volume '${archive}' does not exist`);
    if (vol.content !== 'backup') die(`${emsg} '${archive}' is not a backup archive`);
    if (p['live-restore']) paramError({ 'live-restore': 'live-restore is only compatible with backup images from a Proxmox Backup Server' });
    if (p.storage !== undefined) c.storage(String(p.storage), node);
    const existing = c.vms.get(vmid);
    if (existing) {
      if (existing.node !== node) die(`${emsg} VM ${vmid} already exists on node '${existing.node}'`);
      if (!p.force) die(`${emsg} config file already exists`);
      if (existing.template) die(`${emsg} VM ${vmid} is a template`);
      if (existing.status === 'running') die(`${emsg} VM is running`);
      if (Number(existing.config.protection ?? 0) === 1) die(`${emsg} VM ${vmid} is protected`);
    } else {
      die(`${emsg} restoring to a new VMID is not emulated`);
    }
    return fork(ctx, req, node, 'qmrestore', vmid, async (t) => {
      const release = await c.flock(vmid, 'exclusive', ctx.flockWaitMs);
      const vm = c.vm(node, vmid);
      try {
        checkLock(vm);
        if (vm.status === 'running') throw new TaskFailure(`${emsg} VM is running`);
        vm.lock = 'create';
      } finally { release(); }
      try {
        t.log(`restore vma archive: zstd -q -d -c /var/lib/vz/dump/${archive.split('/').pop()} | vma extract -v -r /var/tmp/vzdumptmp.fifo - /var/tmp/vzdumptmp`);
        t.log(`CFG: size: ${vol.size} name: qemu-server.conf`);
        await t.work();
        vm.pending = {};
        vm.pendingDelete.clear();
        t.log(`rescan volumes...`);
        t.log(`restore of ${vmid} finished at ${new Date(nowSec() * 1000).toISOString()}`);
      } finally {
        vm.lock = null;
      }
      if (p.start && c.vms.get(vmid) === vm) {
        vm.status = 'running';
        vm.startedAt = nowSec();
        t.log(`starting VM ${vmid}`);
      }
    });
  });
}
