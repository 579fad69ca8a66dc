// /nodes/{node}/qemu/{vmid}/config (GET, PUT sync, POST as a qmconfig task), pending, resize,
// cloudinit and rrddata. Writes go to the pending section first and are applied at once when the
// VM is stopped, or only for hotpluggable keys while it runs (the rest waits for a restart).
import { createHash, randomBytes } from 'node:crypto';
import { checkLock, type Ctx, fork, vmStats } from './context.ts';
import { ApiError, die, paramError, TaskFailure } from './errors.ts';
import type { Req, Router } from './http.ts';
import { DRIVE_KEY, formatSize, isCdrom, isCloudinit, NEW_DISK, parseDrive, parseNet, parseSize, printDrive, printNet, sshKeysValid, uriUnescape } from './props.ts';
import { NODE, opt, type Params, type Schema, validate, VMID } from './schema.ts';
import { cloudinitVolume, GiB, memoryOf, MiB, splitVolid, type VmState } from './state.ts';
import type { TaskCtx } from './tasks.ts';
import { CLOUDINIT_KEYS, configParam, hotpluggable } from './vmkeys.ts';
import { checkIsoDrive } from './iso.ts';

const META: Schema = {
  node: NODE, vmid: VMID, delete: opt({ type: 'string', maxLength: 4096 }), revert: opt({ type: 'string', maxLength: 4096 }),
  digest: opt({ type: 'string', maxLength: 64 }), skiplock: opt({ type: 'boolean' }), force: opt({ type: 'boolean' }),
  skip_cloud_init: opt({ type: 'boolean' }),
};
const META_KEYS = new Set([...Object.keys(META), 'background_delay']);

const splitList = (s: string | number | undefined) => (s === undefined ? [] : String(s).split(/[,;\s]+/).filter(Boolean));

export function configRoutes(r: Router, ctx: Ctx): void {
  const c = ctx.cluster;

  r.add('GET', '/nodes/{node}/qemu/{vmid}', (req) => {
    const p = validate({ node: NODE, vmid: VMID }, req.params);
    c.vm(String(p.node), Number(p.vmid));
    return ['config', 'pending', 'status', 'firewall', 'snapshot', 'rrddata', 'clone', 'migrate', 'resize', 'cloudinit'].map((subdir) => ({ subdir }));
  });

  r.add('GET', '/nodes/{node}/qemu/{vmid}/config', (req) => {
    const p = validate({ node: NODE, vmid: VMID, current: opt({ type: 'boolean' }), snapshot: opt({ type: 'string' }) }, req.params);
    const vm = c.vm(String(p.node), Number(p.vmid));
    let conf: Record<string, string | number>;
    if (p.snapshot !== undefined) {
      const s = vm.snapmeta.find((x) => x.name === p.snapshot);
      if (!s) die(`snapshot '${p.snapshot}' does not exist`);
      conf = { ...s.config };
    } else {
      conf = { ...vm.config };
      if (!p.current) {
        Object.assign(conf, vm.pending);
        for (const k of vm.pendingDelete) delete conf[k];
      }
    }
    if (conf.cipassword !== undefined) conf.cipassword = '**********';
    return { ...conf, digest: vm.digest() };
  });

  r.add('GET', '/nodes/{node}/qemu/{vmid}/pending', (req) => {
    const p = validate({ node: NODE, vmid: VMID }, req.params);
    const vm = c.vm(String(p.node), Number(p.vmid));
    const keys = new Set([...Object.keys(vm.config), ...Object.keys(vm.pending), ...vm.pendingDelete]);
    const mask = (k: string, v: string | number) => (k === 'cipassword' ? '**********' : v);
    return [...keys].sort().map((key) => {
      const e: Record<string, unknown> = { key };
      if (vm.config[key] !== undefined) e.value = mask(key, vm.config[key]!);
      if (vm.pending[key] !== undefined) e.pending = mask(key, vm.pending[key]!);
      if (vm.pendingDelete.has(key)) e.delete = 1;
      return e;
    });
  });

  r.add('PUT', '/nodes/{node}/qemu/{vmid}/config', (req) => updateVm(ctx, req, false));
  r.add('POST', '/nodes/{node}/qemu/{vmid}/config', (req) => updateVm(ctx, req, true));

  r.add('PUT', '/nodes/{node}/qemu/{vmid}/resize', (req) => {
    const p = validate({
      node: NODE, vmid: VMID, disk: { type: 'string', enum: driveNames() }, size: { type: 'string', pattern: /^\+?\d+(\.\d+)?[KMGT]?$/ },
      digest: opt({ type: 'string', maxLength: 64 }), skiplock: opt({ type: 'boolean' }),
    }, req.params);
    if (p.skiplock && req.who.user !== 'root@pam') paramError({ skiplock: 'Only root may use this option.' });
    const node = String(p.node);
    const vmid = Number(p.vmid);
    c.vm(node, vmid);
    // Since PVE 8.0 every check runs inside the task, under the config lock.
    return fork(ctx, req, node, 'resize', vmid, async (t) => {
      const release = await c.flock(vmid, 'exclusive', ctx.flockWaitMs);
      try {
        const vm = c.vm(node, vmid);
        if (p.digest && p.digest !== vm.digest()) throw new TaskFailure('detected modified configuration - file changed by other user? Try again.');
        if (!p.skiplock) checkLock(vm);
        const disk = String(p.disk);
        if (vm.config[disk] === undefined) throw new TaskFailure(`disk '${disk}' does not exist`);
        const d = parseDrive(String(vm.config[disk]));
        if (isCdrom(d)) throw new TaskFailure("you can't resize a cdrom");
        const vol = c.findVolume(node, d.file);
        const cur = vol?.size ?? parseSize(d.opts.get('size') ?? '0') ?? 0;
        const m = /^(\+)?(\d+(?:\.\d+)?)([KMGT]?)$/.exec(String(p.size))!;
        const amount = Math.round(Number(m[2]) * ({ '': 1, K: 1024, M: MiB, G: GiB, T: 1024 * GiB } as Record<string, number>)[m[3]!]!);
        const next = m[1] ? cur + amount : amount;
        if (next < cur) throw new TaskFailure('shrinking disks is not supported');
        if (next === cur) return;
        await t.work();
        const st = c.storage(splitVolid(d.file)[0]!);
        if (vol && c.used(st.storage, node) - cur + next > st.total) throw new TaskFailure(`no space left on storage '${st.storage}'`);
        if (st.type === 'lvmthin') {
          t.log(`  Size of logical volume pve/${splitVolid(d.file)[1]} changed from ${(cur / GiB).toFixed(2)} GiB (${cur / (4 * MiB)} extents) to ${(next / GiB).toFixed(2)} GiB (${next / (4 * MiB)} extents).`);
          t.log(`  Logical volume pve/${splitVolid(d.file)[1]} successfully resized.`);
        } else t.log(`Image resized.`);
        if (vol) vol.size = next;
        d.opts.set('size', formatSize(next));
        vm.config[disk] = printDrive(d);
      } finally { release(); }
    });
  });

  r.add('GET', '/nodes/{node}/qemu/{vmid}/cloudinit', (req) => {
    const p = validate({ node: NODE, vmid: VMID }, req.params);
    const vm = c.vm(String(p.node), Number(p.vmid));
    const out: Array<Record<string, unknown>> = [];
    const mask = (k: string, v: string | number | undefined) => (k === 'cipassword' && v !== undefined ? '**********' : v);
    for (const key of Object.keys(vm.config).filter((k) => CLOUDINIT_KEYS.test(k)).sort()) {
      const cur = vm.config[key];
      const gen = vm.ciGenerated?.[key];
      const e: Record<string, unknown> = { key };
      if (vm.ciGenerated && gen !== cur) { if (gen !== undefined) e.value = mask(key, gen); e.pending = mask(key, cur); } else e.value = mask(key, cur);
      out.push(e);
    }
    for (const key of Object.keys(vm.ciGenerated ?? {}).filter((k) => vm.config[k] === undefined)) out.push({ key, value: mask(key, vm.ciGenerated![key]), delete: 1 });
    return out;
  });

  r.add('PUT', '/nodes/{node}/qemu/{vmid}/cloudinit', (req) => {
    const p = validate({ node: NODE, vmid: VMID }, req.params);
    const vm = c.vm(String(p.node), Number(p.vmid));
    regenerateCloudinit(vm);
    return null;
  });

  r.add('GET', '/nodes/{node}/qemu/{vmid}/rrddata', (req) => {
    const p = validate({ node: NODE, vmid: VMID, timeframe: { type: 'string', enum: ['hour', 'day', 'week', 'month', 'year', 'decade'] }, cf: opt({ type: 'string', enum: ['AVERAGE', 'MAX'] }) }, req.params);
    const vm = c.vm(String(p.node), Number(p.vmid));
    return rrdSamples(vm, String(p.timeframe), String(p.cf ?? 'AVERAGE'));
  });
}

function driveNames(): string[] {
  const out: string[] = [];
  for (let i = 0; i <= 30; i++) out.push(`scsi${i}`);
  for (let i = 0; i <= 15; i++) out.push(`virtio${i}`);
  for (let i = 0; i <= 5; i++) out.push(`sata${i}`);
  for (let i = 0; i <= 3; i++) out.push(`ide${i}`);
  return [...out, 'efidisk0', 'tpmstate0'];
}

/** The config drive is rebuilt from the current values (at start and on PUT cloudinit). */
export function regenerateCloudinit(vm: VmState): void {
  vm.ciGenerated = Object.fromEntries(Object.entries(vm.config).filter(([k]) => CLOUDINIT_KEYS.test(k)));
}

/** A crypt(3)-shaped SHA-512 hash: the guest only ever sees the hash, like PVE stores it. */
function hashPassword(pw: string): string {
  const salt = randomBytes(12).toString('base64').replace(/[+=]/g, '.').slice(0, 16);
  const h = createHash('sha512').update(`${salt}$${pw}`).digest('base64').replace(/\+/g, '.').replace(/=+$/, '');
  return `$6$${salt}$${h}`;
}

async function updateVm(ctx: Ctx, req: Req, async: boolean): Promise<unknown> {
  const c = ctx.cluster;
  const schema: Schema = async ? { ...META, background_delay: opt({ type: 'integer', min: 1, max: 30 }) } : META;
  const p = validate(schema, req.params, configParam);
  const node = String(p.node);
  const vmid = Number(p.vmid);
  if (p.skiplock && req.who.user !== 'root@pam') paramError({ skiplock: 'Only root may use this option.' });
  const params: Params = {};
  for (const [k, v] of Object.entries(p)) if (!META_KEYS.has(k)) params[k] = v;

  if (params.sshkeys !== undefined && !sshKeysValid(uriUnescape(String(params.sshkeys)))) die('SSH public key validation error');
  if (!p.delete && !p.revert && !Object.keys(params).length) die('no options specified');

  const revert = new Set<string>();
  for (const k of splitList(p.revert)) {
    if (!configParam(k)) paramError({ revert: `unknown option '${k}'` });
    if (params[k] !== undefined) paramError({ delete: `you can't use '-${k}' and -revert ${k}' at the same time` });
    revert.add(k);
  }
  const deletes: string[] = [];
  for (let k of splitList(p.delete)) {
    if (k === 'cdrom') k = 'ide2';
    if (params[k] !== undefined) paramError({ delete: `you can't use '-${k}' and -delete ${k}' at the same time` });
    if (revert.has(k)) paramError({ revert: `you can't use '-delete ${k}' and -revert ${k}' at the same time` });
    if (!configParam(k) && k !== 'lock') paramError({ delete: `unknown option '${k}'` });
    deletes.push(k);
  }
  // A NIC written without its MAC gets a fresh random one, here, once.
  for (const k of Object.keys(params)) if (/^net\d+$/.test(k)) params[k] = printNet(parseNet(String(params[k])));
  // An ISO image in a CD-ROM drive: checked before anything is forked or locked (iso.ts).
  for (const k of Object.keys(params)) if (DRIVE_KEY.test(k)) checkIsoDrive(c, node, k, parseDrive(String(params[k])));
  if (params.cipassword !== undefined && !/^\$(1|2[aby]?|5|6|y)\$/.test(String(params.cipassword))) {
    const ostype = String(c.vms.get(vmid)?.config.ostype ?? '');
    if (!/^w/.test(ostype)) params.cipassword = hashPassword(String(params.cipassword));
  }

  const loadAndCheck = (): VmState => {
    const vm = c.vm(node, vmid);
    if (p.digest && p.digest !== vm.digest()) die('checksum mismatch (file change by other user?)');
    if (!p.skiplock) { try { checkLock(vm); } catch (e) { die((e as Error).message); } }
    if (params.memory !== undefined || params.balloon !== undefined) {
      const maxmem = memoryOf(params.memory ?? vm.pending.memory ?? vm.config.memory);
      const balloon = Number(params.balloon ?? vm.pending.balloon ?? vm.config.balloon ?? 0);
      if (balloon && balloon > maxmem) die('balloon value too large (must be smaller than assigned memory)');
    }
    return vm;
  };

  const apply = (vm: VmState, t?: TaskCtx) => {
    const say = (line: string) => t?.log(line);
    say(`update VM ${vmid}: ${Object.entries(params).map(([k, v]) => `-${k} ${k === 'cipassword' ? '<hidden>' : v}`).join(' ')}${deletes.length ? ` -delete ${deletes.join(',')}` : ''}`);
    for (const k of revert) {
      if (vm.pending[k] !== undefined) delete vm.pending[k];
      vm.pendingDelete.delete(k);
    }
    for (const k of deletes) {
      const val = vm.config[k] ?? vm.pending[k];
      if (val === undefined) { t?.warn(`cannot delete '${k}' - not set in current configuration!`); continue; }
      if (vm.pending[k] !== undefined) { registerUnused(ctx, vm, String(vm.pending[k]), k); delete vm.pending[k]; }
      if (/^unused\d+$/.test(k)) {
        if (Number(vm.config.protection ?? 0)) die(`can't remove unused disk '${val}' - protection mode enabled`);
        c.freeVolume(vm.node, String(val));
        delete vm.config[k];
        continue;
      }
      if (vm.config[k] !== undefined) vm.pendingDelete.add(k);
    }
    for (const [k, v] of Object.entries(params)) {
      if (DRIVE_KEY.test(k)) vm.pending[k] = createDisk(ctx, vm, k, String(v), say);
      else vm.pending[k] = v;
    }
    applyPending(ctx, vm, vm.status === 'running');
  };

  loadAndCheck(); // early checks before forking or locking: a locked VM is refused at once
  if (!async) {
    const release = await c.flock(vmid, 'exclusive', ctx.flockWaitMs);
    try { apply(loadAndCheck()); } finally { release(); }
    return null;
  }
  const upid = fork(ctx, req, node, 'qmconfig', vmid, async (t) => {
    const release = await c.flock(vmid, 'exclusive', ctx.flockWaitMs);
    try {
      await t.work();
      apply(loadAndCheck(), t);
    } finally { release(); }
  });
  if (p.background_delay === undefined) return upid;
  const task = ctx.tasks.get(upid)!;
  const until = Date.now() + Number(p.background_delay) * 1000;
  while (task.status === 'running' && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  if (task.status === 'running') return upid;
  if (task.exitstatus === 'OK' || task.exitstatus!.startsWith('WARNINGS')) return null;
  throw new ApiError(500, `failed to update VM ${vmid}: ${task.exitstatus}`);
}

/** `storage:N` allocates vm-<id>-disk-N (N GiB); `storage:cloudinit` creates the config drive. */
function createDisk(ctx: Ctx, vm: VmState, key: string, value: string, say: (l: string) => void): string {
  const d = parseDrive(value);
  const m = NEW_DISK.exec(d.file);
  if (m) {
    if (!m[1]) die(`${key}: missing storage for new disk`);
    const size = Math.round(Number(m[2]) * GiB);
    const vol = ctx.cluster.allocVolume(vm.node, m[1], vm.vmid, size, d.opts.get('format'));
    d.opts.delete('format');
    say(`${key}: successfully created disk '${vol.volid},size=${formatSize(size)}'`);
    d.file = vol.volid;
    d.opts.set('size', formatSize(size));
    return printDrive(d);
  }
  const ci = /^([^:]+):cloudinit$/.exec(d.file);
  if (ci) {
    const vol = cloudinitVolume(ctx.cluster.storage(ci[1]!, vm.node), vm.vmid);
    ctx.cluster.putVolume(vm.node, vol);
    say(`${key}: successfully created disk '${vol.volid},media=cdrom'`);
    d.file = vol.volid;
    d.opts.set('media', 'cdrom');
    return printDrive(d);
  }
  if (!isCdrom(d) && d.file.includes(':') && !ctx.cluster.findVolume(vm.node, d.file)) {
    const [sid] = splitVolid(d.file);
    ctx.cluster.storage(sid!, vm.node);
    die(`volume '${d.file}' does not exist`);
  }
  return value;
}

/** A drive this VM owns that leaves the config becomes unusedN (cloud-init drives are freed). */
function registerUnused(ctx: Ctx, vm: VmState, value: string, key: string): void {
  if (!DRIVE_KEY.test(key)) return;
  let d;
  try { d = parseDrive(value); } catch { return; }
  if (isCloudinit(d)) { ctx.cluster.freeVolume(vm.node, d.file); return; }
  if (isCdrom(d) || !new RegExp(`(^|[:/])(vm|base)-${vm.vmid}-disk-\\d+`).test(d.file)) return;
  if (Object.values(vm.config).some((v) => String(v).split(',')[0] === d.file && v !== value)) return;
  let n = 0;
  while (vm.config[`unused${n}`] !== undefined) n++;
  vm.config[`unused${n}`] = d.file;
}

/** vmconfig_apply_pending (stopped) or vmconfig_hotplug_pending (running: hotpluggable keys only). */
export function applyPending(ctx: Ctx, vm: VmState, onlyHotplug: boolean): void {
  const hp = vm.pending.hotplug ?? vm.config.hotplug;
  for (const k of [...vm.pendingDelete]) {
    if (onlyHotplug && !hotpluggable(k, hp, vm.config)) continue;
    if (vm.config[k] !== undefined) registerUnused(ctx, vm, String(vm.config[k]), k);
    delete vm.config[k];
    vm.pendingDelete.delete(k);
  }
  for (const [k, v] of Object.entries(vm.pending)) {
    if (onlyHotplug && !hotpluggable(k, hp, vm.config)) continue;
    const old = vm.config[k];
    if (old !== undefined && DRIVE_KEY.test(k) && String(old).split(',')[0] !== String(v).split(',')[0]) registerUnused(ctx, vm, String(old), k);
    vm.config[k] = v;
    delete vm.pending[k];
  }
}

const STEPS: Record<string, [number, number]> = { hour: [60, 70], day: [60, 1440], week: [1800, 336], month: [1800, 1488], year: [21600, 1464], decade: [604800, 520] };

/**
 * The clock the RRD series is read at (ms). A test that needs the same samples on every read pins
 * it (and puts it back): the series is a function of time, so a pinned clock makes it fixed.
 */
export const rrdClock = { nowMs: (): number => Date.now() };

/** RRD samples: keys omitted before the VM existed; zeros while stopped; steady load while running. */
function rrdSamples(vm: VmState, timeframe: string, cf: string): Array<Record<string, number>> {
  const [step, count] = STEPS[timeframe]!;
  const now = Math.floor(rrdClock.nowMs() / 1000 / step) * step;
  const s = vmStats(vm);
  const out: Array<Record<string, number>> = [];
  const peak = cf === 'MAX' ? 1.6 : 1;
  for (let i = count - 1; i >= 0; i--) {
    const time = now - i * step;
    if (time < vm.createdAt - step) { out.push({ time }); continue; }
    const running = vm.status === 'running' && time >= vm.startedAt - step;
    const wave = 1 + 0.3 * Math.sin((time / step + vm.vmid) / 5);
    out.push({
      time, maxcpu: s.maxcpu!, cpu: running ? 0.03 * wave * peak : 0, maxmem: vm.memoryMiB() * MiB, mem: running ? Math.floor(vm.memoryMiB() * MiB * 0.4 * wave) : 0,
      maxdisk: s.maxdisk!, disk: 0, netin: running ? 1200 * wave * peak : 0, netout: running ? 5400 * wave * peak : 0,
      diskread: running ? 40960 * wave : 0, diskwrite: running ? 20480 * wave : 0,
    });
  }
  return out;
}
