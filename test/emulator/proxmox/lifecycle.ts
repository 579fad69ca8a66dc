// Power and life cycle of a VM: status/current, start, stop, shutdown, reboot, suspend, resume,
// destroy, migrate and snapshots. Which checks run before the fork (a 500 to the caller) and which
// run inside the task (an error exit status) follows qemu-server.
import { applyPending, regenerateCloudinit } from './config.ts';
import { checkLock, type Ctx, disksOf, fork, vmStats } from './context.ts';
import { die, paramError, TaskFailure } from './errors.ts';
import type { Req, Router } from './http.ts';
import { isCloudinit, parseDrive, parseNet, printDrive } from './props.ts';
import { NODE, opt, STORAGE_ID, validate, VMID } from './schema.ts';
import { cloudinitVolume, nowSec, splitVolid, type VmState, type Volume } from './state.ts';
import type { TaskCtx } from './tasks.ts';

const SNAPNAME = { type: 'string' as const, pattern: /^[a-z][a-z0-9_-]+$/i, maxLength: 40 };

export function lifecycleRoutes(r: Router, ctx: Ctx): void {
  const c = ctx.cluster;
  const rootOnly = (req: Req, p: Record<string, unknown>, ...keys: string[]) => {
    for (const k of keys) if (p[k] && req.who.user !== 'root@pam') paramError({ [k]: 'Only root may use this option.' });
  };
  /** Run `fn` inside the task under the VM's flock, refusing a locked VM unless skiplock. */
  const locked = (vmid: number, skiplock: unknown, fn: (vm: VmState, t: TaskCtx) => Promise<void> | void, node: string) => async (t: TaskCtx) => {
    const release = await c.flock(vmid, 'exclusive', ctx.flockWaitMs);
    try {
      const vm = c.vm(node, vmid);
      if (!skiplock) checkLock(vm);
      await fn(vm, t);
    } finally { release(); }
  };

  r.add('GET', '/nodes/{node}/qemu/{vmid}/status', (req) => {
    const p = validate({ node: NODE, vmid: VMID }, req.params);
    c.vm(String(p.node), Number(p.vmid));
    return [{ subdir: 'current' }, { subdir: 'start' }, { subdir: 'stop' }, { subdir: 'reset' }, { subdir: 'shutdown' }, { subdir: 'suspend' }, { subdir: 'reboot' }];
  });

  r.add('GET', '/nodes/{node}/qemu/{vmid}/status/current', (req) => {
    const p = validate({ node: NODE, vmid: VMID }, req.params);
    const vm = c.vm(String(p.node), Number(p.vmid));
    const s = vmStats(vm);
    const e: Record<string, unknown> = {
      vmid: vm.vmid, name: vm.config.name ?? `VM ${vm.vmid}`, status: vm.status, qmpstatus: vm.status === 'running' ? (vm.paused ? 'paused' : 'running') : 'stopped',
      cpus: vm.cpus(), ...s, ha: { managed: 0 },
    };
    if (vm.status === 'running') { e.pid = 4000 + vm.vmid; e['running-machine'] = 'pc-i440fx-9.2+pve1'; e['running-qemu'] = '9.2.0'; }
    if (vm.lock) e.lock = vm.lock;
    if (vm.config.tags) e.tags = vm.config.tags;
    if (vm.template) e.template = 1;
    if (vm.config.agent && /^(1|enabled=1)/.test(String(vm.config.agent))) e.agent = 1;
    delete e.maxcpu;
    return e;
  });

  r.add('POST', '/nodes/{node}/qemu/{vmid}/status/start', (req) => {
    const p = validate({ node: NODE, vmid: VMID, skiplock: opt({ type: 'boolean' }), timeout: opt({ type: 'integer', min: 0, max: 86400 }), machine: opt({ type: 'string' }), migratedfrom: opt(NODE), migration_type: opt({ type: 'string' }), migration_network: opt({ type: 'string' }), stateuri: opt({ type: 'string' }), targetstorage: opt({ type: 'string' }), 'force-cpu': opt({ type: 'string' }), nets_host_mtu: opt({ type: 'string' }), 'with-conntrack-state': opt({ type: 'boolean' }) }, req.params);
    rootOnly(req, p, 'skiplock');
    const node = String(p.node); const vmid = Number(p.vmid);
    c.vm(node, vmid);
    return fork(ctx, req, node, 'qmstart', vmid, locked(vmid, true, async (vm, t) => {
      // vm_start's order: template, then the lock (a suspended VM may resume), then running.
      if (vm.template) throw new TaskFailure("you can't start a vm if it's a template");
      if (!p.skiplock && vm.lock !== 'suspended') checkLock(vm);
      if (vm.status === 'running') throw new TaskFailure(`VM ${vmid} already running`);
      if (vm.lock === 'suspended') vm.lock = null;
      applyPending(ctx, vm, false);
      for (const [k, v] of Object.entries(vm.config)) {
        if (!/^net\d+$/.test(k)) continue;
        const bridge = parseNet(String(v)).rest.get('bridge');
        if (bridge && !c.node(node).bridges.some((b) => b.iface === bridge)) throw new TaskFailure(`bridge '${bridge}' does not exist`);
      }
      if (disksOf(vm.config).some(([, d]) => isCloudinit(d))) { regenerateCloudinit(vm); t.log('generating cloud-init ISO'); }
      await t.work();
      vm.status = 'running'; vm.paused = false; vm.startedAt = nowSec();
    }, node));
  });

  r.add('POST', '/nodes/{node}/qemu/{vmid}/status/stop', (req) => {
    const p = validate({ node: NODE, vmid: VMID, skiplock: opt({ type: 'boolean' }), timeout: opt({ type: 'integer', min: 0 }), keepActive: opt({ type: 'boolean' }), migratedfrom: opt(NODE), 'overrule-shutdown': opt({ type: 'boolean' }) }, req.params);
    rootOnly(req, p, 'skiplock', 'keepActive');
    const node = String(p.node); const vmid = Number(p.vmid);
    c.vm(node, vmid);
    if (p['overrule-shutdown']) {
      for (const t of ctx.tasks.all()) if (t.type === 'qmshutdown' && t.id === String(vmid) && t.status === 'running') ctx.tasks.stop(t);
    }
    return fork(ctx, req, node, 'qmstop', vmid, async (t) => {
      const release = await c.flock(vmid, 'exclusive', ctx.flockWaitMs);
      try {
        const vm = c.vm(node, vmid);
        if (vm.status !== 'running') return; // stopping a stopped VM is a successful no-op
        if (!p.skiplock) checkLock(vm);
        await t.work();
        vm.status = 'stopped'; vm.paused = false;
      } finally { release(); }
    });
  });

  r.add('POST', '/nodes/{node}/qemu/{vmid}/status/shutdown', (req) => {
    const p = validate({ node: NODE, vmid: VMID, skiplock: opt({ type: 'boolean' }), timeout: opt({ type: 'integer', min: 0 }), forceStop: opt({ type: 'boolean' }), keepActive: opt({ type: 'boolean' }) }, req.params);
    rootOnly(req, p, 'skiplock', 'keepActive');
    const node = String(p.node); const vmid = Number(p.vmid);
    const vm0 = c.vm(node, vmid);
    let shutdown = true;
    if (vm0.status === 'running' && vm0.paused) {
      if (!p.forceStop) die('VM is paused - cannot shutdown');
      shutdown = false;
    }
    return fork(ctx, req, node, 'qmshutdown', vmid, async (t) => {
      const release = await c.flock(vmid, 'exclusive', ctx.flockWaitMs);
      try {
        const vm = c.vm(node, vmid);
        if (vm.status !== 'running') return;
        if (!p.skiplock) checkLock(vm);
        const timeout = Number(p.timeout ?? 60) * 1000;
        // A guest without ACPI never reacts to the power button: the timeout runs out.
        const ignores = shutdown && Number(vm.config.acpi ?? 1) === 0;
        if (ignores) {
          await t.work(timeout);
          if (!p.forceStop) throw new TaskFailure('VM quit/powerdown failed - got timeout');
          t.warn('VM still running - terminating now with SIGTERM');
        } else await t.work(Math.min(timeout, ctx.tasks.duration('qmshutdown')));
        vm.status = 'stopped'; vm.paused = false;
      } finally { release(); }
    });
  });

  r.add('POST', '/nodes/{node}/qemu/{vmid}/status/reboot', (req) => {
    const p = validate({ node: NODE, vmid: VMID, timeout: opt({ type: 'integer', min: 0 }) }, req.params);
    const node = String(p.node); const vmid = Number(p.vmid);
    const vm0 = c.vm(node, vmid);
    if (vm0.status !== 'running') die(`VM ${vmid} not running`);
    return fork(ctx, req, node, 'qmreboot', vmid, locked(vmid, false, async (vm, t) => {
      await t.work();
      applyPending(ctx, vm, false);
      if (disksOf(vm.config).some(([, d]) => isCloudinit(d))) regenerateCloudinit(vm);
      vm.startedAt = nowSec();
    }, node));
  });

  for (const [action, type] of [['suspend', 'qmsuspend'], ['resume', 'qmresume']] as const) {
    r.add('POST', `/nodes/{node}/qemu/{vmid}/status/${action}`, (req) => {
      const p = validate({ node: NODE, vmid: VMID, skiplock: opt({ type: 'boolean' }), todisk: opt({ type: 'boolean' }), statestorage: opt(STORAGE_ID), nocheck: opt({ type: 'boolean' }) }, req.params);
      rootOnly(req, p, 'skiplock');
      const node = String(p.node); const vmid = Number(p.vmid);
      if (c.vm(node, vmid).status !== 'running') die(`VM ${vmid} not running`);
      return fork(ctx, req, node, type, vmid, locked(vmid, p.skiplock, async (vm, t) => { await t.work(); vm.paused = action === 'suspend'; }, node));
    });
  }

  r.add('DELETE', '/nodes/{node}/qemu/{vmid}', (req) => {
    const p = validate({ node: NODE, vmid: VMID, skiplock: opt({ type: 'boolean' }), purge: opt({ type: 'boolean' }), 'destroy-unreferenced-disks': opt({ type: 'boolean' }) }, req.params);
    rootOnly(req, p, 'skiplock');
    const node = String(p.node); const vmid = Number(p.vmid);
    const early = () => {
      const vm = c.vm(node, vmid);
      if (Number(vm.config.protection ?? 0)) die(`can't remove VM ${vmid} - protection mode enabled`);
      if (vm.status === 'running') die(`VM ${vmid} is running - destroy failed`);
      return vm;
    };
    early();
    return fork(ctx, req, node, 'qmdestroy', vmid, async (t) => {
      const release = await c.flock(vmid, 'exclusive', ctx.flockWaitMs);
      try {
        const vm = early();
        if (!p.skiplock) checkLock(vm);
        vm.lock = 'destroyed';
        await t.work();
        const volids = new Set<string>();
        for (const [k, v] of Object.entries(vm.config)) {
          if (/^unused\d+$/.test(k)) volids.add(String(v));
        }
        for (const [, d] of disksOf(vm.config)) volids.add(d.file);
        for (const v of volids) {
          if (!new RegExp(`(^|[:/])(vm|base)-${vmid}-(disk-\\d+|cloudinit)(\\.\\w+)?$`).test(v)) continue; // not this VM's volume
          const st = c.storages.get(splitVolid(v)[0] ?? '');
          c.freeVolume(node, v);
          t.log(st?.type === 'lvmthin' ? `  Logical volume "${splitVolid(v)[1]}" successfully removed.` : `Removed volume '${v}'`);
        }
        if (p['destroy-unreferenced-disks']) {
          for (const st of c.storagesOn(node)) {
            for (const vol of [...c.volumesAt(st.storage, node).values()]) {
              if (vol.vmid === vmid && vol.content === 'images') { c.freeVolume(node, vol.volid); t.log(`Removed unreferenced volume '${vol.volid}'`); }
            }
          }
        }
        if (p.purge) t.log(`purging VM ${vmid} from related configurations..`);
        c.vms.delete(vmid);
      } finally { release(); }
    });
  });

  r.add('POST', '/nodes/{node}/qemu/{vmid}/migrate', (req) => {
    const p = validate({
      node: NODE, vmid: VMID, target: NODE, online: opt({ type: 'boolean' }), force: opt({ type: 'boolean' }), migration_type: opt({ type: 'string', enum: ['secure', 'insecure'] }),
      migration_network: opt({ type: 'string' }), targetstorage: opt({ type: 'string' }), bwlimit: opt({ type: 'integer', min: 0 }), 'with-local-disks': opt({ type: 'boolean' }),
      'with-conntrack-state': opt({ type: 'boolean' }),
    }, req.params);
    const node = String(p.node); const vmid = Number(p.vmid); const target = String(p.target);
    if (target === node) paramError({ target: 'target is local node.' });
    c.node(target);
    rootOnly(req, p, 'force', 'migration_type', 'migration_network');
    const vm0 = c.vm(node, vmid);
    try { checkLock(vm0); } catch (e) { die((e as Error).message); }
    let online = Boolean(p.online);
    const warnOffline = online && vm0.status !== 'running';
    if (vm0.status === 'running' && !online) die("can't migrate running VM without --online");
    if (vm0.status !== 'running') online = false;
    // Storage map: 'dst' (all), or 'src:dst,src2:dst2' (with an optional default).
    const map = new Map<string, string>(); let dflt: string | undefined;
    if (p.targetstorage !== undefined) {
      for (const part of String(p.targetstorage).split(',')) {
        const [a, b] = part.split(':');
        if (b === undefined) { if (a !== '1') dflt = a; } else map.set(a!, b);
        if (!/^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(b ?? a!) && (b ?? a) !== '1') paramError({ targetstorage: `failed to parse storage map: invalid storage ID '${b ?? a}'` });
      }
      for (const sid of [...map.values(), ...(dflt ? [dflt] : [])]) {
        const st = c.storage(sid, target);
        if (!st.content.includes('images')) die(`storage '${sid}' does not support content-type 'images'`);
      }
    }
    const destOf = (sid: string) => map.get(sid) ?? dflt ?? sid;
    for (const [, d] of disksOf(vm0.config)) {
      const [sid] = splitVolid(d.file);
      if (!map.has(sid!) && !dflt) c.storage(sid!, target);
    }
    const local = disksOf(vm0.config).filter(([, d]) => !c.storages.get(splitVolid(d.file)[0]!)?.shared);
    return fork(ctx, req, node, 'qmigrate', vmid, async (t) => {
      if (warnOffline) t.warn("VM isn't running. Doing offline migration instead.");
      const release = await c.flock(vmid, 'exclusive', ctx.flockWaitMs);
      let vm: VmState | undefined;
      try {
        vm = c.vm(node, vmid);
        checkLock(vm);
        if (online && local.length && !p['with-local-disks']) throw new TaskFailure("can't live migrate attached local disks without with-local-disks option");
        // The source node reaches the target over SSH first; an unreachable target fails here.
        if (!c.node(target).online) throw new TaskFailure("migration aborted (duration 00:00:03): Can't connect to destination address using public key");
        t.log(`starting migration of VM ${vmid} to node '${target}' (${c.node(target).ip})`);
        vm.lock = 'migrate';
      } finally { release(); }
      try {
        for (const [k, d] of local) t.log(`found local disk '${d.file}' (attached to ${k})`);
        if (online) t.log(`starting VM ${vmid} on remote node '${target}'`);
        await t.work();
        // Copy local volumes to the target (under the mapped storage), then drop the originals.
        for (const [k] of local) {
          const d = parseDrive(String(vm.config[k]));
          const [sid, volname] = splitVolid(d.file) as [string, string];
          const src = c.findVolume(node, d.file);
          const dest = destOf(sid);
          let moved: Volume;
          if (isCloudinit(d)) {
            moved = cloudinitVolume(c.storage(dest, target), vmid);
          } else if (dest === sid && !c.volumesAt(dest, target).has(volname)) {
            moved = { ...(src ?? { volid: d.file, storage: sid, volname, vmid, size: 0, format: 'raw', content: 'images', ctime: nowSec() }) };
          } else {
            moved = c.allocVolume(target, dest, vmid, src?.size ?? 0, src?.format);
          }
          c.putVolume(target, moved);
          if (src) c.freeVolume(node, d.file);
          t.log(`copying local disk '${d.file}' to '${moved.volid}'`);
          d.file = moved.volid;
          vm.config[k] = printDrive(d);
        }
        vm.node = target;
        t.log(`migration finished successfully (duration ${'00:00:01'})`);
      } finally {
        if (vm) vm.lock = null;
      }
    });
  });

  // -- snapshots --

  r.add('GET', '/nodes/{node}/qemu/{vmid}/snapshot', (req) => {
    const p = validate({ node: NODE, vmid: VMID }, req.params);
    const vm = c.vm(String(p.node), Number(p.vmid));
    const out: Array<Record<string, unknown>> = vm.snapmeta.map((s) => {
      const e: Record<string, unknown> = { name: s.name, snaptime: s.snaptime, description: s.description, vmstate: s.vmstate };
      if (s.parent) e.parent = s.parent;
      return e;
    });
    const cur: Record<string, unknown> = { name: 'current', digest: vm.digest(), running: vm.status === 'running' ? 1 : 0, description: 'You are here!' };
    if (vm.config.parent) cur.parent = vm.config.parent;
    out.push(cur);
    return out;
  });

  r.add('POST', '/nodes/{node}/qemu/{vmid}/snapshot', (req) => {
    const p = validate({ node: NODE, vmid: VMID, snapname: SNAPNAME, vmstate: opt({ type: 'boolean' }), description: opt({ type: 'string', maxLength: 8192 }) }, req.params);
    const node = String(p.node); const vmid = Number(p.vmid); const name = String(p.snapname);
    if (/^(current|pending|vmstate)$/i.test(name)) paramError({ snapname: `invalid snapshot name '${name}'` });
    c.vm(node, vmid);
    return fork(ctx, req, node, 'qmsnapshot', vmid, async (t) => {
      const release = await c.flock(vmid, 'exclusive', ctx.flockWaitMs);
      let vm: VmState;
      try {
        vm = c.vm(node, vmid);
        checkLock(vm);
        if (vm.snapmeta.some((s) => s.name === name)) throw new TaskFailure(`snapshot name '${name}' already used`);
        for (const [, d] of disksOf(vm.config)) {
          if (isCloudinit(d)) continue;
          const st = c.storages.get(splitVolid(d.file)[0]!);
          const fmt = c.findVolume(node, d.file)?.format ?? 'raw';
          if (!st || ((st.type === 'dir' || st.type === 'nfs') && fmt !== 'qcow2')) throw new TaskFailure('snapshot feature is not available');
        }
        vm.lock = 'snapshot';
      } finally { release(); }
      try {
        await t.work();
        t.log(`snapshotting 'drive-scsi0' (${String(vm.config.scsi0 ?? '').split(',')[0]})`);
        const config = { ...vm.config };
        delete config.lock;
        vm.snapmeta.push({ name, snaptime: nowSec(), description: String(p.description ?? ''), vmstate: p.vmstate && vm.status === 'running' ? 1 : 0, parent: vm.config.parent === undefined ? undefined : String(vm.config.parent), config });
        vm.config.parent = name;
      } finally { vm.lock = null; }
    });
  });

  r.add('GET', '/nodes/{node}/qemu/{vmid}/snapshot/{snapname}', (req) => {
    const p = validate({ node: NODE, vmid: VMID, snapname: SNAPNAME }, req.params);
    const vm = c.vm(String(p.node), Number(p.vmid));
    if (!vm.snapmeta.some((s) => s.name === p.snapname)) die(`snapshot '${p.snapname}' does not exist`);
    return [{ subdir: 'rollback' }, { subdir: 'config' }];
  });

  r.add('DELETE', '/nodes/{node}/qemu/{vmid}/snapshot/{snapname}', (req) => {
    const p = validate({ node: NODE, vmid: VMID, snapname: SNAPNAME, force: opt({ type: 'boolean' }) }, req.params);
    const node = String(p.node); const vmid = Number(p.vmid); const name = String(p.snapname);
    c.vm(node, vmid);
    return fork(ctx, req, node, 'qmdelsnapshot', vmid, async (t) => {
      const release = await c.flock(vmid, 'exclusive', ctx.flockWaitMs);
      let vm: VmState;
      try {
        vm = c.vm(node, vmid);
        if (!p.force) checkLock(vm);
        if (!vm.snapmeta.some((s) => s.name === name)) throw new TaskFailure(`snapshot '${name}' does not exist`);
        vm.lock = 'snapshot-delete';
      } finally { release(); }
      try {
        await t.work();
        const snap = vm.snapmeta.find((s) => s.name === name)!;
        for (const s of vm.snapmeta) if (s.parent === name) s.parent = snap.parent;
        if (vm.config.parent === name) { if (snap.parent) vm.config.parent = snap.parent; else delete vm.config.parent; }
        vm.snapmeta = vm.snapmeta.filter((s) => s.name !== name);
      } finally { vm.lock = null; }
    });
  });

  r.add('POST', '/nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback', (req) => {
    const p = validate({ node: NODE, vmid: VMID, snapname: SNAPNAME, start: opt({ type: 'boolean' }) }, req.params);
    const node = String(p.node); const vmid = Number(p.vmid); const name = String(p.snapname);
    c.vm(node, vmid);
    return fork(ctx, req, node, 'qmrollback', vmid, async (t) => {
      const release = await c.flock(vmid, 'exclusive', ctx.flockWaitMs);
      let vm: VmState;
      try {
        vm = c.vm(node, vmid);
        checkLock(vm);
        const snap = vm.snapmeta.find((s) => s.name === name);
        if (!snap) throw new TaskFailure(`snapshot '${name}' does not exist`);
        const zfs = disksOf(vm.config).some(([, d]) => c.storages.get(splitVolid(d.file)[0]!)?.type === 'zfspool');
        if (zfs && vm.snapmeta[vm.snapmeta.length - 1]!.name !== name) throw new TaskFailure(`can't rollback, '${name}' is not most recent snapshot`);
        vm.lock = 'rollback';
      } finally { release(); }
      try {
        await t.work();
        const snap = vm.snapmeta.find((s) => s.name === name)!;
        if (vm.status === 'running' && !snap.vmstate) vm.status = 'stopped';
        const restored: Record<string, string | number> = { ...snap.config, parent: name, lock: 'rollback' };
        for (const k of Object.keys(vm.config)) delete vm.config[k];
        Object.assign(vm.config, restored);
        vm.pending = {}; vm.pendingDelete.clear();
        if (p.start && vm.status !== 'running') { vm.status = 'running'; vm.startedAt = nowSec(); t.log(`starting VM ${vmid}`); }
      } finally { vm.lock = null; }
    });
  });
}
