// ISO images: `POST /nodes/{node}/storage/{storage}/download-url` (a `download` task that puts an
// image in a storage's iso/ directory; the emulator fetches nothing, the URL is taken as serving a
// 600 MiB file), and the check a CD-ROM drive value gets in a config change (checkIsoDrive). The
// images are listed by the storage content route (backups.ts) with `content=iso`, and deleted by it.
// Written from pve-storage's Storage.pm/DirPlugin (parse_volname, ISO_EXT_RE) and qemu-server's
// API2/Qemu.pm (the `media=cdrom` check), read, not copied.
import { type Ctx, fork } from './context.ts';
import { die, paramError, TaskFailure } from './errors.ts';
import type { Router } from './http.ts';
import { type Drive, isCdrom } from './props.ts';
import { NODE, opt, STORAGE_ID, validate } from './schema.ts';
import { type Cluster, MiB, nowSec, splitVolid } from './state.ts';

const ISO_NAME = /^[^/]+\.(iso|img)$/i;
const FILE_STORAGES = new Set(['dir', 'nfs']);
/** How each plugin names itself in "unable to parse … volume name". */
const PARSER: Record<string, string> = { dir: 'directory', nfs: 'directory', lvmthin: 'lvm', zfspool: 'zfs', rbd: 'rbd' };

/**
 * The checks Proxmox makes of an ISO image in a drive value (`<storage>:iso/<name>.iso`): the
 * storage exists and is available on the node, it is a file storage whose volume names parse, the
 * drive says `media=cdrom`, and the image is there. (A stopped VM's config takes a missing image
 * on a real cluster until the VM starts; the emulator refuses it at once.)
 */
export function checkIsoDrive(cluster: Cluster, node: string, key: string, d: Drive): void {
  const [sid, volname] = splitVolid(d.file);
  if (!sid || !volname || !volname.startsWith('iso/')) return;
  const st = cluster.storage(sid, node);
  if (!FILE_STORAGES.has(st.type) || !ISO_NAME.test(volname.slice(4))) die(`unable to parse ${PARSER[st.type] ?? st.type} volume name '${volname}'`);
  if (!isCdrom(d) || d.opts.get('media') !== 'cdrom') paramError({ [key]: "explicit 'media=cdrom' is required for iso images" });
  if (!cluster.findVolume(node, d.file)) die(`volume '${d.file}' does not exist`);
}

export function isoRoutes(r: Router, ctx: Ctx): void {
  const c = ctx.cluster;
  r.add('POST', '/nodes/{node}/storage/{storage}/download-url', (req) => {
    const p = validate({
      node: NODE, storage: STORAGE_ID, url: { type: 'string', pattern: /^https?:\/\/.+/ }, filename: { type: 'string', maxLength: 255 },
      content: { type: 'string', enum: ['iso', 'vztmpl', 'import'] }, checksum: opt({ type: 'string' }),
      'checksum-algorithm': opt({ type: 'string', enum: ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] }),
      compression: opt({ type: 'string' }), 'verify-certificates': opt({ type: 'boolean' }),
    }, req.params);
    const node = String(p.node);
    const storage = String(p.storage);
    const st = c.storage(storage, node);
    if (p.content !== 'iso') die(`content type '${p.content}' is not emulated`);
    if (!st.content.includes('iso')) die(`storage '${storage}' is not configured for content-type 'iso'`);
    const filename = String(p.filename);
    if (!ISO_NAME.test(filename) || filename.includes('..')) paramError({ filename: 'wrong file extension' });
    const volname = `iso/${filename}`;
    if (c.volumesAt(storage, node).has(volname)) die(`refusing to override existing file '/var/lib/vz/template/iso/${filename}'`);
    return fork(ctx, req, node, 'download', storage, async (t) => {
      t.log(`downloading ${String(p.url)} to /var/lib/vz/template/iso/${filename}`);
      await t.work();
      if (c.volumesAt(storage, node).has(volname)) throw new TaskFailure(`refusing to override existing file '/var/lib/vz/template/iso/${filename}'`);
      c.putVolume(node, { volid: `${storage}:${volname}`, storage, volname, vmid: 0, size: 600 * MiB, format: 'iso', content: 'iso', ctime: nowSec() });
      t.log('download of ISO image finished');
    });
  });
}
