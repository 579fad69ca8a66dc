// Extra FTP accounts of a web domain: v-add-web-domain-ftp, v-delete-web-domain-ftp,
// v-change-web-domain-ftp-password, v-change-web-domain-ftp-path (bin/ at d128cc6). Each account is
// a system user `<user>_<name>` in the virtual /etc/passwd with the owner's uid; web.conf keeps
// FTP_USER, FTP_MD5 and FTP_PATH as colon-joined parallel lists. There is no v-list command:
// v-list-web-domains shows FTP_USER and FTP_PATH.
import { existsSync, mkdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { type Obj } from '../conf.ts';
import { E, HestiaExit } from '../errors.ts';
import { readPasswd, writePasswd } from '../node.ts';
import * as v from '../validate.ts';
import { type Ctx, formatDomain } from './ctx.ts';
import type { Command } from './types.ts';
import { passwordHash } from './users.ts';

/** These scripts echo their own `Error:` line and call log_event, as check_result would. */
function echoFail(code: number, msg: string): never {
  throw new HestiaExit(code, `Error: ${msg}\n`);
}

interface FtpHead { user: string; domain: string; ftpUser: string; web: Obj }

/** USER DOMAIN FTP_USER …: args, formats, WEB_SYSTEM, user and web domain (suspension checks if asked). */
function ftpHead(c: Ctx, min: number, usage: string, unsuspended: boolean, prefixed: boolean): FtpHead {
  const user = c.arg(1); const domain = formatDomain(c.arg(2));
  const ftpUser = prefixed ? `${user}_${c.arg(3)}` : c.arg(3);
  c.checkArgs(min, usage);
  if (user) v.user(user); if (domain) v.domain(domain); if (ftpUser) v.user(ftpUser, 'ftp_user');
  c.systemEnabled('WEB_SYSTEM');
  c.userValid(user);
  if (unsuspended) c.userUnsuspended(user);
  const web = c.objectValid(user, 'web', 'DOMAIN', domain);
  if (unsuspended) c.objectUnsuspended(user, 'web', 'DOMAIN', domain);
  return { user, domain, ftpUser, web };
}

const list = (s: string | undefined) => (s ?? '').split(':');

/** The account's position in FTP_USER (3 when it is not there). */
function position(h: FtpHead): number {
  const i = list(h.web.get('FTP_USER')).indexOf(h.ftpUser);
  if (h.ftpUser === '' || i < 0) echoFail(E.NOTEXIST, `account ${h.ftpUser} doesn't exist`);
  return i;
}

/** `readlink -f /home/<u>/web/<d>/<path>` and Hestia's substring test of the result. */
function resolvePath(h: FtpHead, path: string): string {
  const base = `/home/${h.user}/web/${h.domain}`;
  const abs = posix.resolve(base, `./${path}`);
  if (!abs.includes(base)) echoFail(E.INVALID, `absolute path ${abs} is invalid`);
  return abs;
}

/** A missing directory is created (751, owned by the user). */
function ensureDir(c: Ctx, abs: string): void {
  const local = join(c.dir, abs);
  if (!existsSync(local)) mkdirSync(local, { recursive: true, mode: 0o751 });
}

/** Relative form stored in FTP_PATH: the absolute path with the domain directory cut out. */
const relative = (h: FtpHead, abs: string) => abs.replace(`/home/${h.user}/web/${h.domain}`, '');

/** update_object_value for the FTP keys; add_object_key puts FTP_PATH after PROXY when absent. */
function setFtp(c: Ctx, h: FtpHead, values: Record<string, string>): void {
  const objs = c.objects(h.user, 'web').map((o) => {
    if (o.get('DOMAIN') !== h.domain) return o;
    let out: Obj = o;
    if (!o.has('FTP_PATH')) {
      out = new Map();
      for (const [k, val] of o) { out.set(k, val); if (k === 'PROXY') out.set('FTP_PATH', ''); }
      if (!out.has('FTP_PATH')) out.set('FTP_PATH', '');
    }
    for (const [k, val] of Object.entries(values)) out.set(k, val);
    return out;
  });
  c.writeObjects(h.user, 'web', objs);
}

const addFtp: Command = {
  hide: 4, logs: true,
  run(c) {
    const h = ftpHead(c, 4, 'USER DOMAIN FTP_USER FTP_PASSWORD [FTP_PATH]', true, true);
    // The "unless it is this domain's FTP_USER" exception compares with a value not loaded yet: never applies.
    if (readPasswd(c.dir).some((e) => e.name === h.ftpUser)) echoFail(E.EXISTS, `ftp user ${h.ftpUser} already exists`);
    const password = c.passwordArg(c.arg(4));
    c.demoMode();
    const pathArg = c.arg(5);
    const abs = pathArg === '' ? `/home/${h.user}/web/${h.domain}` : resolvePath(h, pathArg);
    if (pathArg !== '') ensureDir(c, abs);
    const entries = readPasswd(c.dir);
    const owner = entries.find((e) => e.name === h.user);
    writePasswd(c.dir, [...entries, { name: h.ftpUser, uid: owner?.uid ?? 0, gecos: '', home: abs, shell: '/usr/sbin/nologin' }]);
    const md5 = passwordHash(password);
    const cur = h.web.get('FTP_USER') ?? '';
    // The first account stores FTP_PATH as given; later ones append the path relative to the domain dir.
    setFtp(c, h, cur === ''
      ? { FTP_USER: h.ftpUser, FTP_MD5: md5, FTP_PATH: pathArg }
      : { FTP_USER: `${cur}:${h.ftpUser}`, FTP_MD5: `${h.web.get('FTP_MD5') ?? ''}:${md5}`, FTP_PATH: `${h.web.get('FTP_PATH') ?? ''}:${relative(h, abs)}` });
    return '';
  },
};

const deleteFtp: Command = {
  logs: true,
  run(c) {
    // FTP_USER is the full `<user>_<name>`; no suspension checks.
    const h = ftpHead(c, 3, 'USER DOMAIN FTP_USER', false, false);
    const i = position(h);
    c.demoMode();
    writePasswd(c.dir, readPasswd(c.dir).filter((e) => e.name !== h.ftpUser));
    const drop = (s: string | undefined) => list(s).filter((_, j) => j !== i).join(':');
    setFtp(c, h, { FTP_USER: list(h.web.get('FTP_USER')).filter((x, j) => j !== i && x !== '').join(':'), FTP_MD5: drop(h.web.get('FTP_MD5')), FTP_PATH: drop(h.web.get('FTP_PATH')) });
    return '';
  },
};

const changeFtpPassword: Command = {
  hide: 4, logs: true,
  run(c) {
    const h = ftpHead(c, 4, 'USER DOMAIN FTP_USER FTP_PASSWORD', true, false);
    const password = c.passwordArg(c.arg(4));
    const i = position(h);
    c.demoMode();
    const md5 = list(h.web.get('FTP_MD5'));
    if (i < md5.length) md5[i] = passwordHash(password);
    setFtp(c, h, { FTP_MD5: md5.filter((x) => x !== '').join(':') });
    return '';
  },
};

const changeFtpPath: Command = {
  logs: true,
  run(c) {
    const h = ftpHead(c, 4, 'USER DOMAIN FTP_USER FTP_PATH', true, false);
    const i = position(h);
    const abs = resolvePath(h, c.arg(4));
    c.demoMode();
    ensureDir(c, abs);
    writePasswd(c.dir, readPasswd(c.dir).map((e) => (e.name === h.ftpUser ? { ...e, home: abs } : e)));
    const p = list(h.web.get('FTP_PATH'));
    if (i < p.length) p[i] = relative(h, abs);
    setFtp(c, h, { FTP_PATH: p.join(':') });
    return '';
  },
};

export const ftpCommands: Record<string, Command> = {
  'v-add-web-domain-ftp': addFtp, 'v-delete-web-domain-ftp': deleteFtp,
  'v-change-web-domain-ftp-password': changeFtpPassword, 'v-change-web-domain-ftp-path': changeFtpPath,
};
