// POST /nodes/{node}/qemu/{vmid}/clone: the synchronous checks, then a qmclone task that holds
// the source's flock (shared when it is stopped, so a template can be cloned in parallel) and the
// new VM's, shows the new VM with `lock: clone`, gives it new MACs, and removes it again on failure.
import { randomUUID } from 'node:crypto';
import { checkLock, type Ctx, disksOf, fork } from './context.ts';
import { die, paramError } from './errors.ts';
import type { Router } from './http.ts';
import { formatSize, isCloudinit, parseNet, printDrive, printNet, parseSize, randomMac, type Drive } from './props.ts';
import { NODE, opt, STORAGE_ID, validate, VMID } from './schema.ts';
import { cloudinitVolume, splitVolid, VmState, type Volume } from './state.ts';
import { DNS_NAME } from './vmkeys.ts';

const DNS_NAME_PARAM = { type: 'string' as const, pattern: DNS_NAME };

const SKIP = /^(snapshots|parent|snaptime|vmstate|snapstate|runningcpu|runningmachine|running-nets-host-mtu|unused\d+)$/;

export function cloneRoutes(r: Router, ctx: Ctx): void {
  const c = ctx.cluster;
  r.add('POST', '/nodes/{node}/qemu/{vmid}/clone', (req) => {
    const p = validate({
      node: NODE, vmid: VMID, newid: VMID, name: opt(DNS_NAME_PARAM), description: opt({ type: 'string', maxLength: 8192 }),
      pool: opt({ type: 'string', pattern: /^[A-Za-z0-9_\-/]+$/ }), snapname: opt({ type: 'string', pattern: /^[a-z][a-z0-9_-]+$/i, maxLength: 40 }),
      storage: opt(STORAGE_ID), format: opt({ type: 'string', enum: ['raw', 'qcow2', 'vmdk'] }), full: opt({ type: 'boolean' }),
      target: opt(NODE), bwlimit: opt({ type: 'integer', min: 0 }),
    }, req.params);
    const node = String(p.node);
    const vmid = Number(p.vmid);
    const newid = Number(p.newid);
    const storage = p.storage === undefined ? undefined : String(p.storage);
    let target = p.target === undefined ? undefined : String(p.target);
    if (target === node || target === 'localhost') target = undefined;
    const running = c.vms.get(vmid)?.node === node && c.vms.get(vmid)?.status === 'running';

    const loadAndCheck = () => {
      if (p.pool !== undefined) die(`pool '${p.pool}' does not exist`);
      if (target) c.node(target);
      if (storage) {
        const st = c.storage(storage, node);
        if (!st.content.includes('images')) paramError({ storage: `storage '${storage}' does not support vm images` });
        if (target) {
          c.storage(storage, target);
          if (!st.shared) die(`can't clone to non-shared storage '${storage}'`);
        }
      }
      const vm = c.vm(node, vmid);
      try { checkLock(vm); } catch (e) { die((e as Error).message); }
      if ((vm.status === 'running') !== running) die('unexpected state change');
      const snap = p.snapname === undefined ? undefined : vm.snapmeta.find((s) => s.name === p.snapname);
      if (p.snapname !== undefined && !snap) die(`snapshot '${p.snapname}' does not exist`);
      const full = p.full === undefined ? !vm.template : p.full === 1;
      if (storage !== undefined && !full) die("parameter 'storage' not allowed for linked clones");
      if (p.format !== undefined && !full) die("parameter 'format' not allowed for linked clones");
      const oldconf = snap ? snap.config : vm.config;
      let shared = true;
      const drives: Array<[string, Drive]> = [];
      for (const [opt_, d] of disksOf(oldconf)) {
        const [sid, volname] = splitVolid(d.file);
        if (!sid || !c.storages.has(sid)) die(`storage '${sid}' does not exist`);
        if (!c.storages.get(sid)!.shared) shared = false;
        const what = `${p.snapname ? ' a snapshot of' : ''} '${d.file}' (${opt_})`;
        if (!full && !isCloudinit(d) && !/(^|\/)base-\d+-disk-\d+/.test(volname!)) die(`Linked clone feature is not supported for${what}`);
        drives.push([opt_, d]);
      }
      if (target && !shared) die(`can't clone VM to node '${target}' (VM uses local storage)`);
      if (c.vms.has(newid)) die(`unable to create VM ${newid}: config file already exists`);
      return { vm, full, oldconf, drives };
    };

    loadAndCheck();

    return fork(ctx, req, node, 'qmclone', vmid, async (t) => {
      const releaseSrc = await c.flock(vmid, running ? 'exclusive' : 'shared', 1000);
      let releaseNew: (() => void) | undefined;
      try {
        releaseNew = await c.flock(newid, 'exclusive', 1000);
        const { vm, full, oldconf, drives } = loadAndCheck();
        t.log(`creating a clone of VM ${vmid} with ID ${newid}`);
        const newconf: Record<string, string | number> = { lock: 'clone' };
        for (const [k, v] of Object.entries(oldconf)) {
          if (SKIP.test(k) || k === 'template' || k === 'lock') continue;
          if (/^net\d+$/.test(k)) {
            newconf[k] = printNet({ ...parseNet(String(v)), macaddr: randomMac() });
          } else if (!drives.some(([d]) => d === k)) newconf[k] = v;
        }
        const smbiosRest = String(newconf.smbios1 ?? '').split(',').filter((x) => x && !x.startsWith('uuid='));
        newconf.smbios1 = [`uuid=${randomUUID()}`, ...smbiosRest].join(',');
        if (newconf.vmgenid) newconf.vmgenid = randomUUID();
        newconf.name = p.name !== undefined ? String(p.name) : `Copy-of-VM-${oldconf.name ?? vmid}`;
        if (p.description !== undefined) newconf.description = String(p.description);
        const clone = new VmState(newid, node, newconf);
        clone.firewall.options = { ...vm.firewall.options };
        for (const [name, entries] of vm.firewall.ipsets) clone.firewall.ipsets.set(name, entries.map((e) => ({ ...e })));
        c.vms.set(newid, clone);
        const created: Volume[] = [];
        try {
          for (const [opt_, d] of drives.sort(([a], [b]) => a.localeCompare(b))) {
            const [sid, volname] = splitVolid(d.file) as [string, string];
            const src = c.findVolume(node, d.file);
            const size = src?.size ?? parseSize(d.opts.get('size') ?? '') ?? 0;
            // Allocation holds the storage's lock: parallel clones onto one storage take turns here.
            const releaseStore = await c.storageLock(full || isCloudinit(d) ? storage ?? sid : sid, node, ctx.storageLockWaitMs);
            let vol: Volume;
            try {
              await t.work(ctx.tasks.duration('alloc'), false);
              if (isCloudinit(d)) {
                vol = cloudinitVolume(c.storage(storage ?? sid, node), newid);
                c.putVolume(node, vol);
                t.log(`create full clone of drive ${opt_} (${d.file})`);
              } else if (full) {
                t.log(`create full clone of drive ${opt_} (${d.file})`);
                vol = c.allocVolume(node, storage ?? sid, newid, size, p.format === undefined ? src?.format : String(p.format));
              } else {
                t.log(`create linked clone of drive ${opt_} (${d.file})`);
                const st = c.storage(sid, node);
                const proto = c.allocVolume(node, sid, newid, size, src?.format);
                c.freeVolume(node, proto.volid);
                const name = st.type === 'lvmthin' ? proto.volname : st.type === 'dir' || st.type === 'nfs' ? `${volname}/${newid}/${proto.volname.split('/').pop()}` : `${volname}/${proto.volname}`;
                vol = { ...proto, volname: name, volid: `${sid}:${name}` };
                c.putVolume(node, vol);
              }
            } finally { releaseStore(); }
            created.push(vol);
            if (c.storage(vol.storage).type === 'lvmthin') t.log(`  Logical volume "${vol.volname}" created.`);
            d.file = vol.volid;
            if (!isCloudinit(d)) d.opts.set('size', d.opts.get('size') ?? formatSize(size));
            newconf[opt_] = printDrive(d);
          }
          await t.work();
          delete newconf.lock;
          if (target) clone.node = target;
        } catch (e) {
          for (const v of created) c.freeVolume(node, v.volid);
          if (c.vms.get(newid) === clone) c.vms.delete(newid);
          throw new Error(`clone failed: ${(e as Error).message}`);
        }
      } finally {
        releaseNew?.();
        releaseSrc();
      }
    });
  });
}
