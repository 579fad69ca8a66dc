// What a HestiaCP user backup holds and how v-restore-user puts it back, on an emulated node: the
// archive `<BACKUP>/<user>.<YYYY-MM-DD_HH-MM-SS>.tar` with v-backup-user's layout (./hestia, ./pam,
// ./web/<d>, ./dns/<d>, ./mail/<d>, ./db/<db>, ./cron, ./user_dir), each object's conf line as the
// emulator stores it and its files as gzip'ed inner tarballs. Conf files are read generically
// (web/dns/mail/db/cron.conf), so objects added by later commands are included without changes here.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { formatLine, type Obj, parseLine, readKeyFile, readObjects } from './conf.ts';
import { E, fail, HestiaExit } from './errors.ts';
import { addPasswd, paths, readPasswd } from './node.ts';
import { packTree, type TarEntry, tarPack, tarUnpack, unpackTree } from './tar.ts';
import type { Ctx } from './commands/ctx.ts';
import { syncCrontab } from './commands/cron.ts';
import { isDomainNew } from './commands/domains.ts';
import { ipWebCount } from './commands/users.ts';

/** backup.conf's keys after BACKUP, in v-backup-user's order (also the listing's). */
export const BACKUP_KEYS = ['TYPE', 'SIZE', 'WEB', 'DNS', 'MAIL', 'DB', 'CRON', 'UDIR', 'RUNTIME', 'TIME', 'DATE'] as const;

/** $HESTIA/bin and $HESTIA/log as the scripts write them into queue lines. */
export const BIN = '/usr/local/hestia/bin';
export const HESTIA_LOG = '/usr/local/hestia/log';

/** $BACKUP (default /backup) inside the node directory, like its virtual /etc and /tmp. */
export function backupRoot(c: Ctx): string {
  const d = join(c.dir, c.conf('BACKUP') || '/backup');
  mkdirSync(d, { recursive: true, mode: 0o755 });
  return d;
}
export const queueFile = (dir: string): string => join(dir, 'data', 'queue', 'backup.pipe');

/** `date "+%F %T"` for progress lines. */
export function clock(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
/** `date +"%Y-%m-%d_%H-%M-%S"`: the archive name's date. */
export const archiveDate = (d = new Date()): string => clock(d).replace(' ', '_').replace(/:/g, '-');

/** The emulator's archives by name, oldest first (`ls | grep -E "^<user>\.[0-9]{4}-.+\.tar$" | sort`). */
export function localArchives(root: string, user: string): string[] {
  const re = new RegExp(`^${user.replace(/[.|]/g, '\\$&')}\\.[0-9]{4}-.+\\.tar$`);
  return readdirSync(root).filter((f) => re.test(f)).sort();
}

/** BACKUP_DISK_LIMIT (percent): `df $BACKUP` use at or above it stops a backup or restore (13). Unset = no check. */
export function diskOverLimit(c: Ctx): boolean {
  const limit = c.conf('BACKUP_DISK_LIMIT');
  if (!/^[0-9]+$/.test(limit)) return false;
  const s = statfsSync(c.dir);
  const used = s.blocks - s.bfree;
  const pct = used + s.bavail > 0 ? Math.ceil((used / (used + s.bavail)) * 100) : 0;
  return pct >= Number(limit);
}

/** `sed -i "/<pattern>/d"` on the backup queue (a plain substring here). */
export function dropQueued(dir: string, needle: string): void {
  const q = queueFile(dir);
  if (!existsSync(q)) return;
  writeFileSync(q, readFileSync(q, 'utf8').split('\n').filter((l) => !l.includes(needle)).join('\n'));
}

// --- backup ----------------------------------------------------------------------------------

export interface Snapshot {
  entries: TarEntry[];
  web: string[]; dns: string[]; mail: string[]; db: string[]; udir: string[];
  /** CRON in backup.conf: the job count only when /var/spool/cron/<user> exists, never on Debian (crontabs/ instead). */
  cron: string;
}

const file = (path: string, data: Buffer | string, mode = 0o644): TarEntry => ({ path, type: 'file', data: Buffer.from(data), mode });
const dirEntry = (path: string): TarEntry => ({ path: path.endsWith('/') ? path : path + '/', type: 'dir', data: Buffer.alloc(0), mode: 0o755 });
const lines = (objs: Obj[]) => objs.map((o) => formatLine(o) + '\n').join('');

/** Files of `data/users/<u>/<sub>` whose name passes `keep`, as entries under `into`. */
function dataFiles(c: Ctx, user: string, sub: string, keep: (name: string) => boolean, into: string): TarEntry[] {
  const d = paths.userFile(c.dir, user, sub);
  if (!existsSync(d)) return [];
  return readdirSync(d).sort().filter(keep).map((f) => file(`${into}/${f}`, readFileSync(join(d, f)), 0o660));
}

/** v-backup-user's sections, each only when its system is set, with the progress lines it prints. */
export function snapshotUser(c: Ctx, user: string, say: (line: string) => void): Snapshot {
  const home = paths.home(c.dir, user);
  const s: Snapshot = { entries: [dirEntry('./')], web: [], dns: [], mail: [], db: [], udir: [], cron: '' };
  const add = (...e: TarEntry[]) => s.entries.push(...e);
  const total = (n: number, one: string, many: string) => say(`${clock()} *** ${n} ${n === 1 ? one : many} ***`);

  say('-- SYSTEM --');
  say(`${clock()} ${user}.conf`);
  add(dirEntry('./hestia'), file('./hestia/user.conf', readFileSync(paths.userConf(c.dir, user))));
  add(dirEntry('./hestia/ssl'), ...dataFiles(c, user, 'ssl', () => true, './hestia/ssl'));
  for (const log of ['stats.log', 'history.log', 'backup-excludes.conf']) {
    const p = paths.userFile(c.dir, user, log);
    if (existsSync(p)) { say(`${clock()} ${log}`); add(file(`./hestia/${log}`, readFileSync(p))); }
  }
  say(`${clock()} pam`);
  const pw = readPasswd(c.dir).find((e) => e.name === user);
  add(dirEntry('./pam'), file('./pam/passwd', pw ? `${pw.name}:x:${pw.uid}:${pw.uid}:${pw.gecos}:${pw.home}:${pw.shell}\n` : ''));
  say('');

  if (c.conf('WEB_SYSTEM')) {
    say('\n-- WEB --');
    add(dirEntry('./web'));
    for (const w of c.objects(user, 'web')) {
      const d = w.get('DOMAIN')!;
      say(`${clock()} ${d}`);
      s.web.push(d);
      add(dirEntry(`./web/${d}`), dirEntry(`./web/${d}/conf`), dirEntry(`./web/${d}/hestia`), file(`./web/${d}/hestia/web.conf`, lines([w])));
      if (w.get('SSL') === 'yes') add(...dataFiles(c, user, 'ssl', (f) => /^(.*)\.(crt|key|ca|pem)$/.exec(f)?.[1] === d, `./web/${d}/hestia`));
      // tar --exclude='./logs/*' in the domain's directory.
      add(file(`./web/${d}/domain_data.tar.gz`, packTree(join(home, 'web', d), ['.'], (rel) => rel.startsWith('logs/'))));
    }
    total(s.web.length, 'domain', 'domains');
  }

  if (c.conf('DNS_SYSTEM')) {
    say('\n-- DNS --');
    add(dirEntry('./dns'));
    for (const z of c.objects(user, 'dns')) {
      const d = z.get('DOMAIN')!;
      say(`${clock()} ${d}`);
      s.dns.push(d);
      add(dirEntry(`./dns/${d}`), dirEntry(`./dns/${d}/conf`), dirEntry(`./dns/${d}/hestia`), file(`./dns/${d}/hestia/dns.conf`, lines([z])),
        file(`./dns/${d}/hestia/${d}.conf`, lines(c.objects(user, `dns/${d}`))));
    }
    total(s.dns.length, 'domain', 'domains');
  }

  if (c.conf('MAIL_SYSTEM')) {
    say('\n-- MAIL --');
    add(dirEntry('./mail'));
    for (const m of c.objects(user, 'mail')) {
      const d = m.get('DOMAIN')!;
      say(`${clock()} ${d}`);
      s.mail.push(d);
      add(dirEntry(`./mail/${d}`), dirEntry(`./mail/${d}/conf`), dirEntry(`./mail/${d}/hestia`), file(`./mail/${d}/hestia/mail.conf`, lines([m])));
      // cp $USER_DATA/mail/<d>.* hestia/: the accounts conf and the DKIM key pair.
      add(...dataFiles(c, user, 'mail', (f) => f.startsWith(`${d}.`) && !f.slice(d.length + 1).includes('.'), `./mail/${d}/hestia`));
      if (m.get('SSL') === 'yes') {
        add(dirEntry(`./mail/${d}/conf/ssl`), ...dataFiles(c, user, 'ssl', (f) => /^mail\.(.*)\.(crt|key|ca|pem)$/.exec(f)?.[1] === d, `./mail/${d}/conf/ssl`)
          .map((e) => ({ ...e, path: e.path.replace(`/mail.${d}.`, `/${d}.`) })));
      }
      const box = join(home, 'mail', d);
      if (existsSync(box) && readdirSync(box).length) add(file(`./mail/${d}/accounts.tar.gz`, packTree(box, readdirSync(box).sort())));
    }
    total(s.mail.length, 'domain', 'domains');
  }

  if (c.conf('DB_SYSTEM')) {
    say('\n-- DB --');
    add(dirEntry('./db'));
    for (const o of c.objects(user, 'db')) {
      const db = o.get('DB')!; const type = o.get('TYPE') || 'mysql';
      say(`${clock()} ${db} (${type})`);
      s.db.push(db);
      // The emulator has no database server: the dump is a placeholder.
      add(dirEntry(`./db/${db}`), dirEntry(`./db/${db}/conf`), dirEntry(`./db/${db}/hestia`), file(`./db/${db}/hestia/db.conf`, lines([o])),
        file(`./db/${db}/${db}.${type}.sql.gz`, gzipSync(`-- emulated dump of ${db}\n`)));
    }
    total(s.db.length, 'database', 'databases');
  }

  if (c.conf('CRON_SYSTEM')) {
    say('\n-- CRON --');
    const conf = c.file(user, 'cron');
    const jobs = existsSync(conf) ? readFileSync(conf) : Buffer.alloc(0);
    add(dirEntry('./cron'), file('./cron/cron.conf', jobs));
    total(jobs.toString('utf8').split('\n').filter(Boolean).length, 'job', 'jobs');
  }

  say('\n-- USER DIRECTORIES --');
  add(dirEntry('./user_dir'));
  const skip = new Set(['conf', 'web', 'dns', 'tmp', 'mail']);
  for (const u of existsSync(home) ? readdirSync(home).sort() : []) {
    if (skip.has(u)) continue;
    say(`${clock()} adding ${u}`);
    s.udir.push(u);
    add(file(`./user_dir/${u}.tar.gz`, packTree(home, [u])));
  }
  total(s.udir.length, 'user directory', 'directories');
  return s;
}

export function writeArchive(path: string, s: Snapshot): number {
  const data = tarPack(s.entries);
  writeFileSync(path, data, { mode: 0o640 });
  return data.length;
}

// --- restore ---------------------------------------------------------------------------------

export type Selector = string;
export interface Selection { web: Selector; dns: Selector; mail: Selector; db: Selector; cron: Selector; udir: Selector }

/** `no` = skip, empty or `*` = all, else a comma list matched as `egrep -x` patterns. */
function select(available: string[], sel: Selector): string[] {
  if (sel === '' || sel === '*') return available;
  const pats = sel.split(',').filter(Boolean).map((p) => { try { return new RegExp(`^(?:${p})$`); } catch { return null; } });
  return available.filter((a) => pats.some((re) => re?.test(a)));
}

/** Archive members under `./<section>/<name>/` that hold `marker` (e.g. web's domain_data.tar.gz). */
function members(all: Map<string, TarEntry>, section: string, marker: string): string[] {
  const out = new Set<string>();
  for (const p of all.keys()) {
    const m = new RegExp(`^\\./${section}/([^/]+)/${marker.replace(/\./g, '\\.')}$`).exec(p);
    if (m) out.add(m[1]!);
  }
  return [...out];
}

function readLine(all: Map<string, TarEntry>, path: string): Obj {
  return parseLine(all.get(path)?.data.toString('utf8').split('\n')[0] ?? '');
}

function pick(o: Obj, keys: string[], set: Record<string, string>): Obj {
  return new Map(keys.map((k) => [k, set[k] ?? o.get(k) ?? ''] as [string, string]));
}

/** A domain this user does not have: any other owner stops the restore with 12. */
function claimable(c: Ctx, kind: 'web' | 'dns' | 'mail', user: string, d: string): void {
  try { isDomainNew(c, kind, user, [d]); } catch (e) {
    if (e instanceof HestiaExit) fail(E.PARSING, `${d} belongs to another user`);
    throw e;
  }
}

/** get_user_ip when the archived IP is not on this node (or dedicated to someone else). */
function usableIp(c: Ctx, user: string, ip: string): { ip: string; old?: string } {
  const ok = (x: string) => {
    if (!x || !existsSync(paths.ip(c.dir, x))) return false;
    const o = readKeyFile(paths.ip(c.dir, x));
    return o.get('STATUS') !== 'dedicated' || o.get('OWNER') === user;
  };
  if (ok(ip)) return { ip };
  const any = existsSync(paths.ips(c.dir)) ? readdirSync(paths.ips(c.dir)).find(ok) : undefined;
  return { ip: any ?? ip, old: ip };
}

const tplOr = (c: Ctx, kind: string, t: string) => (t && existsSync(paths.template(c.dir, kind, t)) ? t : 'default');

export interface RestoreResult { createdUser: boolean }

/** v-restore-user's body after its checks: the user (created from the archive if missing), then each selected part. */
export function restoreUser(c: Ctx, user: string, archive: Buffer, sel: Selection, say: (line: string) => void): RestoreResult {
  let all: Map<string, TarEntry>;
  try { all = new Map(tarUnpack(archive).map((e) => [e.path.replace(/\/$/, ''), e])); } catch { fail(E.PARSING, "Can't unpack user container"); }
  const data = (p: string) => all.get(p)?.data;
  const home = paths.home(c.dir, user);
  const now = () => ({ TIME: c.stamp.time, DATE: c.stamp.date });
  const created = !c.userExists(user);

  if (created) {
    if (readPasswd(c.dir).some((e) => e.name === user)) fail(E.EXISTS, 'User already exists');
    say('-- USER --');
    say(`${clock()} ${user}`);
    const conf = data('./hestia/user.conf');
    if (!conf) fail(E.PARSING, "Can't unpack user container");
    const udata = paths.user(c.dir, user);
    for (const sub of ['ssl', 'dns', 'mail']) mkdirSync(join(udata, sub), { recursive: true });
    for (const f of ['backup.conf', 'history.log', 'stats.log', 'web.conf', 'dns.conf', 'mail.conf', 'db.conf', 'cron.conf']) writeFileSync(join(udata, f), '');
    writeFileSync(paths.userConf(c.dir, user), conf);
    for (const [p, e] of all) if (p.startsWith('./hestia/ssl/') && e.type === 'file') writeFileSync(join(udata, 'ssl', p.slice(13)), e.data, { mode: 0o660 });
    const old = (data('./pam/passwd')?.toString('utf8') ?? '').split(':');
    addPasswd(c.dir, user, old[4] ?? '', old[6] || '/usr/sbin/nologin');
    mkdirSync(home, { recursive: true });
    if (c.userExists(c.rootUser)) c.bump(c.rootUser, 'U_USERS', 1);
  }
  const oldUser = (data('./pam/passwd')?.toString('utf8') ?? '').split(':')[0] || user;

  if (sel.web !== 'no' && c.conf('WEB_SYSTEM')) {
    say('\n-- WEB --');
    for (const d of select(members(all, 'web', 'domain_data.tar.gz'), sel.web)) {
      say(`${clock()} ${d}`);
      const exists = !!c.find(user, 'web', 'DOMAIN', d);
      if (!exists) claimable(c, 'web', user, d);
      const dir = `./web/${d}`;
      if (!exists) {
        const w = readLine(all, `${dir}/hestia/web.conf`);
        // Aliases someone else now has are dropped.
        const aliases = (w.get('ALIAS') ?? '').split(',').filter(Boolean).filter((a) => { try { isDomainNew(c, 'web', user, [a]); return true; } catch { return false; } });
        const { ip } = usableIp(c, user, w.get('IP') ?? '');
        let ftp = w.get('FTP_USER') ?? '';
        if (ftp) ftp = `${user}_${ftp.replace(`${oldUser}_`, '')}`;
        if (w.get('SSL') === 'yes') {
          for (const ext of ['crt', 'key', 'ca', 'pem']) {
            const f = data(`${dir}/hestia/${d}.${ext}`);
            if (f) writeFileSync(paths.userFile(c.dir, user, `ssl/${d}.${ext}`), f, { mode: 0o660 });
          }
        }
        // The keys v-restore-user writes (others, like LETSENCRYPT_FAIL_COUNT, are not kept).
        const line = pick(w, ['DOMAIN', 'IP', 'IP6', 'ALIAS', 'CUSTOM_DOCROOT', 'CUSTOM_PHPROOT', 'REDIRECT', 'REDIRECT_CODE', 'FASTCGI_CACHE',
          'FASTCGI_DURATION', 'TPL', 'SSL', 'SSL_HOME', 'SSL_HSTS', 'SSL_FORCE', 'LETSENCRYPT', 'FTP_USER', 'FTP_MD5', 'FTP_PATH', 'BACKEND', 'PROXY',
          'PROXY_EXT', 'STATS', 'STATS_USER', 'STATS_CRYPT', 'U_DISK', 'U_BANDWIDTH', 'SUSPENDED', 'TIME', 'DATE'], {
          DOMAIN: d, IP: ip, ALIAS: aliases.join(','), TPL: tplOr(c, 'web', w.get('TPL') ?? ''), PROXY: w.get('PROXY') ? tplOr(c, 'proxy', w.get('PROXY')!) : '',
          BACKEND: w.get('BACKEND') ? tplOr(c, 'backend', w.get('BACKEND')!) : '', FTP_USER: ftp, U_BANDWIDTH: '0', SUSPENDED: 'no', ...now(),
          CUSTOM_DOCROOT: (w.get('CUSTOM_DOCROOT') ?? '').replaceAll(`/home/${oldUser}/web/`, `/home/${user}/web/`),
        });
        appendFileSync(c.file(user, 'web'), formatLine(line) + '\n');
        ipWebCount(c, ip, user, 1);
      }
      const target = join(home, 'web', d);
      mkdirSync(target, { recursive: true });
      rmSync(join(target, 'public_html'), { recursive: true, force: true });
      mkdirSync(join(target, 'public_html'), { recursive: true });
      try { unpackTree(data(`${dir}/domain_data.tar.gz`)!, target, (rel) => rel.startsWith('logs/')); } catch { fail(E.PARSING, `Can't unpack ${d} data tarball`); }
    }
  }

  if (sel.dns !== 'no' && c.conf('DNS_SYSTEM')) {
    say('\n-- DNS --');
    for (const d of select(members(all, 'dns', 'hestia/dns.conf'), sel.dns)) {
      say(`${clock()} ${d}`);
      const exists = !!c.find(user, 'dns', 'DOMAIN', d);
      if (!exists) claimable(c, 'dns', user, d);
      let records = data(`./dns/${d}/hestia/${d}.conf`)?.toString('utf8') ?? '';
      if (!exists) {
        const z = readLine(all, `./dns/${d}/hestia/dns.conf`);
        const { ip, old } = usableIp(c, user, z.get('IP') ?? '');
        if (old) records = records.replaceAll(old, ip);
        appendFileSync(c.file(user, 'dns'), formatLine(pick(z, ['DOMAIN', 'IP', 'TPL', 'TTL', 'EXP', 'SOA', 'RECORDS', 'DNSSEC', 'KEY', 'SLAVE', 'MASTER', 'SUSPENDED', 'TIME', 'DATE'],
          { DOMAIN: d, IP: ip, TPL: tplOr(c, 'dns', z.get('TPL') ?? ''), SUSPENDED: 'no', ...now() })) + '\n');
      }
      writeFileSync(c.file(user, `dns/${d}`), records);
      c.updateObject(user, 'dns', 'DOMAIN', d, { RECORDS: String(readObjects(c.file(user, `dns/${d}`)).length) });
      // `[ -n "$DNS_CLUSTER" ]`: also true for DNS_CLUSTER='no', as in the script.
      if (c.conf('DNS_CLUSTER')) appendFileSync(join(c.dir, 'data', 'queue', 'dns-cluster.pipe'), `${BIN}/v-add-remote-dns-domain ${user} ${d} yes\n`);
    }
  }

  if (sel.mail !== 'no' && c.conf('MAIL_SYSTEM')) {
    say('\n-- MAIL --');
    for (const d of select(members(all, 'mail', 'hestia/mail.conf'), sel.mail)) {
      say(`${clock()} ${d}`);
      const exists = !!c.find(user, 'mail', 'DOMAIN', d);
      if (!exists) claimable(c, 'mail', user, d);
      const dir = `./mail/${d}`;
      if (!exists) appendFileSync(c.file(user, 'mail'), data(`${dir}/hestia/mail.conf`)?.toString('utf8') ?? '');
      for (const ext of ['pem', 'pub']) {
        const f = data(`${dir}/hestia/${d}.${ext}`);
        if (f) writeFileSync(paths.userFile(c.dir, user, `mail/${d}.${ext}`), f);
      }
      if (c.find(user, 'mail', 'DOMAIN', d)?.get('SSL') === 'yes') {
        for (const ext of ['crt', 'key', 'ca', 'pem']) {
          const f = data(`${dir}/conf/ssl/${d}.${ext}`);
          if (f) writeFileSync(paths.userFile(c.dir, user, `ssl/mail.${d}.${ext}`), f, { mode: 0o660 });
        }
      }
      // The accounts conf is copied over whatever is there: deleted accounts come back.
      writeFileSync(c.file(user, `mail/${d}`), data(`${dir}/hestia/${d}.conf`) ?? '');
      mkdirSync(join(home, 'mail', d), { recursive: true });
      const boxes = data(`${dir}/accounts.tar.gz`);
      if (boxes) { try { unpackTree(boxes, join(home, 'mail', d)); } catch { fail(E.PARSING, `Can't unpack ${d} mail account container`); } }
      c.updateObject(user, 'mail', 'DOMAIN', d, { ACCOUNTS: String(c.objects(user, `mail/${d}`).length) });
    }
  }

  if (sel.db !== 'no' && c.conf('DB_SYSTEM')) {
    say('\n-- DB --');
    for (const db of select(members(all, 'db', 'hestia/db.conf'), sel.db)) {
      say(`${clock()} ${db}`);
      if (c.find(user, 'db', 'DB', db)) continue;
      const o = readLine(all, `./db/${db}/hestia/db.conf`);
      const rename = (v: string) => `${user}_${v.replace(`${oldUser}_`, '')}`;
      if (!o.get('MD5')) say(`Warning!: Database ${o.get('DB')} backup does not contain a password for user ${o.get('DBUSER')}.`);
      appendFileSync(c.file(user, 'db'), formatLine(pick(o, ['DB', 'DBUSER', 'MD5', 'HOST', 'TYPE', 'CHARSET', 'U_DISK', 'SUSPENDED', 'TIME', 'DATE'],
        { DB: rename(o.get('DB') ?? db), DBUSER: rename(o.get('DBUSER') ?? ''), SUSPENDED: 'no', ...now() })) + '\n');
    }
  }

  if (sel.cron !== 'no' && c.conf('CRON_SYSTEM')) {
    say('\n-- CRON --');
    const conf = data('./cron/cron.conf');
    if (!conf) fail(E.PARSING, "Can't unpack cron container");
    const text = conf.toString('utf8').replace(/\r/g, '');
    const jobs = text.split('\n').filter(Boolean).length;
    say(`${clock()} ${jobs} cron job${jobs === 1 ? '' : 's'}`);
    // The whole cron.conf is replaced: job ids in the selector are not looked at.
    writeFileSync(c.file(user, 'cron'), text);
    syncCrontab(c, user);
  }

  if (sel.udir !== 'no') {
    say('\n-- USER FILES --');
    const dirs = [...all.keys()].map((p) => /^\.\/user_dir\/(.+)\.tar\.gz$/.exec(p)?.[1]).filter((x): x is string => !!x);
    for (const u of select(dirs, sel.udir)) {
      say(`${clock()} ${u}`);
      try { unpackTree(data(`./user_dir/${u}.tar.gz`)!, home); } catch { fail(E.PARSING, `Can't unpack ${u} user dir container`); }
    }
  }
  mkdirSync(join(home, 'tmp'), { recursive: true, mode: 0o700 });
  return { createdUser: created };
}
