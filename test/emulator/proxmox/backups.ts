// Backups: POST /nodes/{node}/vzdump (a vzdump task that puts `lock: backup` on the VM and writes
// an archive volume) and the storage content list/delete that finds and removes archives.
import { type Ctx, disksOf, fork } from './context.ts';
import { die, paramError, TaskFailure } from './errors.ts';
import { Reply, type Router } from './http.ts';
import { NODE, opt, STORAGE_ID, validate } from './schema.ts';
import { nowSec, splitVolid, type Volume } from './state.ts';

const EXT: Record<string, string> = { '0': 'vma', '1': 'vma.lzo', lzo: 'vma.lzo', gzip: 'vma.gz', zstd: 'vma.zst' };

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}-${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}`;
}

export function backupRoutes(r: Router, ctx: Ctx): void {
  const c = ctx.cluster;

  r.add('POST', '/nodes/{node}/vzdump', (req) => {
    const p = validate({
      node: NODE, vmid: opt({ type: 'string', pattern: /^\d+([,;\s]+\d+)*$/ }), all: opt({ type: 'boolean' }), storage: opt(STORAGE_ID),
      mode: opt({ type: 'string', enum: ['snapshot', 'suspend', 'stop'] }), compress: opt({ type: 'string', enum: ['0', '1', 'gzip', 'lzo', 'zstd'] }),
      remove: opt({ type: 'boolean' }), 'notes-template': opt({ type: 'string', maxLength: 1024 }), protected: opt({ type: 'boolean' }),
      bwlimit: opt({ type: 'integer', min: 0 }), lockwait: opt({ type: 'integer', min: 0 }), stopwait: opt({ type: 'integer', min: 0 }),
      mailto: opt({ type: 'string' }), mailnotification: opt({ type: 'string', enum: ['always', 'failure'] }), exclude: opt({ type: 'string' }),
      'prune-backups': opt({ type: 'string' }), zstd: opt({ type: 'integer', min: 0 }), ionice: opt({ type: 'integer', min: 0, max: 8 }),
      'notification-mode': opt({ type: 'string' }), fleecing: opt({ type: 'string' }), quiet: opt({ type: 'boolean' }),
    }, req.params);
    const node = String(p.node);
    c.node(node);
    if (!p.vmid && !p.all) paramError({ vmid: 'property is missing and it is not optional' });
    const ids = p.all ? [...c.vms.values()].filter((v) => v.node === node && !v.template).map((v) => v.vmid) : String(p.vmid).split(/[,;\s]+/).map(Number);
    for (const id of ids) if (!c.vms.has(id)) die(`Unable to find configuration file for VM ${id} - no such machine`);
    const local = ids.filter((id) => c.vms.get(id)!.node === node);
    // The quirk: nothing of the list lives here, so the call answers "OK" and does nothing.
    if (!local.length) return 'OK';
    const storage = String(p.storage ?? 'local');
    const st = c.storage(storage, node);
    if (!st.content.includes('backup')) die(`storage '${storage}' does not support backups`);
    const ext = EXT[String(p.compress ?? '0')]!;
    return fork(ctx, req, node, 'vzdump', local.length === 1 ? local[0]! : '', async (t) => {
      let failed = 0;
      for (const vmid of local) {
        const vm = c.vms.get(vmid);
        if (!vm || vm.node !== node) { t.log(`ERROR: Backup of VM ${vmid} failed - unable to find VM ${vmid}`); failed++; continue; }
        t.log(`INFO: Starting Backup of VM ${vmid} (qemu)`);
        if (vm.lock) { t.log(`ERROR: Backup of VM ${vmid} failed - VM is locked (${vm.lock})`); failed++; continue; }
        vm.lock = 'backup';
        try {
          t.log(`INFO: Backup started at ${new Date().toISOString().replace('T', ' ').slice(0, 19)}`);
          t.log(`INFO: backup mode: ${p.mode ?? 'snapshot'}`);
          await t.work();
          const volname = `dump/vzdump-qemu-${vmid}-${stamp(new Date())}.${ext}`;
          const size = Math.max(1 << 20, Math.floor(disksOf(vm.config).reduce((s, [, d]) => s + (c.findVolume(node, d.file)?.size ?? 0), 0) * 0.35));
          const notes = p['notes-template'] === undefined ? undefined : String(p['notes-template'])
            .replace(/\{\{guestname\}\}/g, String(vm.config.name ?? '')).replace(/\{\{vmid\}\}/g, String(vmid))
            .replace(/\{\{node\}\}/g, node).replace(/\{\{cluster\}\}/g, c.clusterName);
          const vol: Volume = { volid: `${storage}:backup/${volname.slice('dump/'.length)}`, storage, volname: `backup/${volname.slice('dump/'.length)}`, vmid, size, format: ext, content: 'backup', ctime: nowSec() };
          if (notes !== undefined) vol.notes = notes;
          if (p.protected) vol.protected = true;
          c.putVolume(node, vol);
          t.log(`INFO: creating vzdump archive '/var/lib/vz/${volname}'`);
          t.log(`INFO: Finished Backup of VM ${vmid} (00:00:01)`);
        } catch (e) {
          if (e instanceof TaskFailure && e.message === 'interrupted by signal') throw e;
          t.log(`ERROR: Backup of VM ${vmid} failed - ${(e as Error).message}`);
          failed++;
        } finally {
          if (vm.lock === 'backup') vm.lock = null;
        }
      }
      if (failed) throw new TaskFailure('job errors');
      t.log('INFO: Backup job finished successfully');
    });
  });

  r.add('GET', '/nodes/{node}/storage/{storage}/content', (req) => {
    const p = validate({ node: NODE, storage: STORAGE_ID, content: opt({ type: 'string' }), vmid: opt({ type: 'integer', min: 100 }) }, req.params);
    const node = String(p.node);
    c.storage(String(p.storage), node);
    const out = [...c.volumesAt(String(p.storage), node).values()]
      .filter((v) => !p.content || v.content === p.content)
      .filter((v) => p.vmid === undefined || v.vmid === p.vmid)
      .sort((a, b) => a.volid.localeCompare(b.volid))
      .map((v) => {
        // An ISO image belongs to no VM: pve-storage lists it without a vmid.
        const e: Record<string, unknown> = { volid: v.volid, ...(v.content === 'iso' ? {} : { vmid: v.vmid }), format: v.format, size: v.size, ctime: v.ctime, content: v.content };
        if (v.content === 'backup') e.subtype = 'qemu';
        if (v.content === 'images') e.used = v.size;
        if (v.notes !== undefined) e.notes = v.notes;
        if (v.protected) e.protected = 1;
        return e;
      });
    return out;
  });

  r.add('DELETE', '/nodes/{node}/storage/{storage}/content/{volume*}', (req) => {
    const p = validate({ node: NODE, storage: opt(STORAGE_ID), volume: { type: 'string' }, delay: opt({ type: 'integer', min: 1, max: 30 }) }, req.params);
    const node = String(p.node);
    const volume = String(p.volume);
    const volid = volume.includes(':') ? volume : `${p.storage}:${volume}`;
    const [sid] = splitVolid(volid);
    c.storage(sid!, node);
    const vol = c.findVolume(node, volid);
    if (!vol) die(`volume '${volid}' does not exist`);
    if (vol.content === 'images') {
      const owner = c.vms.get(vol.vmid);
      if (owner && Object.values(owner.config).some((v) => String(v).split(',')[0] === volid)) die(`unable to delete volume '${volid}' - volume is still in use`);
    }
    // pve-storage names the task by the volume's owner and its storage (Content.pm: "<vmid>@<storage>").
    const upid = fork(ctx, req, node, 'imgdel', `${vol.vmid ?? ''}@${sid}`, async (t) => {
      await t.work();
      if (vol.protected) throw new TaskFailure('cannot remove protected volume/archive');
      c.freeVolume(node, volid);
      t.log(`Removed volume '${volid}'`);
    });
    if (p.delay === undefined) return upid;
    return (async () => {
      const task = ctx.tasks.get(upid)!;
      const until = Date.now() + Number(p.delay) * 1000;
      while (task.status === 'running' && Date.now() < until) await new Promise((res) => setTimeout(res, 20));
      if (task.status === 'running') return upid;
      if (task.exitstatus !== 'OK' && !task.exitstatus!.startsWith('WARNINGS')) die(task.exitstatus!);
      return new Reply(null);
    })();
  });
}
