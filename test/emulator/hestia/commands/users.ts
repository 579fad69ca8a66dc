// v-add-user, v-delete-user, v-(un)suspend-user, v-change-user-package/-password, v-list-user(s),
// v-update-user-counters.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { type Obj, readKeyFile, writeKeyFile } from '../conf.ts';
import { E, fail } from '../errors.ts';
import { addPasswd, paths, readPasswd, readShells, writePasswd } from '../node.ts';
import { columnT, jsonSingle, jsonUsers, pick, plainRows } from '../output.ts';
import * as v from '../validate.ts';
import { Ctx } from './ctx.ts';
import { syncCrontab } from './cron.ts';
import type { Command } from './types.ts';

const RESERVED = ['aria', 'aria_log', 'mysql', 'mysql_upgrade', 'ib', 'ib_buffer', 'ddl', 'ddl_recovery', 'performance', 'sudo'];

/** Stand-in for the shadow hash: not crypt(3), but changes with the password so tests can see it. */
export function passwordHash(p: string): string {
  return `$emu$${createHash('sha256').update(p).digest('hex').slice(0, 32)}`;
}
const rkey = () => randomBytes(12).toString('base64url').replace(/[-_]/g, 'x').slice(0, 16);

const COUNTERS = ['SUSPENDED', 'SUSPENDED_USERS', 'SUSPENDED_WEB', 'SUSPENDED_DNS', 'SUSPENDED_MAIL', 'SUSPENDED_DB',
  'SUSPENDED_CRON', 'IP_AVAIL', 'IP_OWNED', 'U_USERS', 'U_DISK', 'U_DISK_DIRS', 'U_DISK_WEB', 'U_DISK_MAIL', 'U_DISK_DB',
  'U_BANDWIDTH', 'U_WEB_DOMAINS', 'U_WEB_SSL', 'U_WEB_ALIASES', 'U_DNS_DOMAINS', 'U_DNS_RECORDS', 'U_MAIL_DOMAINS',
  'U_MAIL_DKIM', 'U_MAIL_ACCOUNTS', 'U_MAIL_SSL', 'U_DATABASES', 'U_CRON_JOBS', 'U_BACKUPS'];

/** user.conf in v-add-user's key order; `prev` keeps counters and settings on a package change. */
function buildUserConf(pkgData: Obj, init: Record<string, string>, prev?: Obj): Obj {
  const o: Obj = new Map();
  const keep = (k: string, d: string) => o.set(k, prev?.get(k) ?? init[k] ?? d);
  keep('NAME', '');
  o.set('PACKAGE', init.PACKAGE!);
  for (const [k, val] of pkgData) if (k !== 'TIME' && k !== 'DATE') o.set(k, val);
  keep('CONTACT', ''); keep('CRON_REPORTS', 'yes'); keep('MD5', ''); keep('RKEY', rkey());
  keep('TWOFA', ''); keep('QRCODE', ''); keep('PHPCLI', ''); keep('ROLE', 'user');
  for (const k of COUNTERS) keep(k, k === 'SUSPENDED' ? 'no' : '0');
  keep('LANGUAGE', ''); keep('THEME', ''); keep('NOTIFICATIONS', 'no'); keep('PREF_UI_SORT', 'name');
  keep('LOGIN_DISABLED', 'no'); keep('LOGIN_USE_IPLIST', 'no'); keep('LOGIN_ALLOW_IPS', '');
  keep('TIME', ''); keep('DATE', '');
  return o;
}

function sharedIps(c: Ctx): number {
  const dir = paths.ips(c.dir);
  if (!existsSync(dir)) return 0;
  return readdirSync(dir).filter((ip) => readKeyFile(paths.ip(c.dir, ip)).get('STATUS') === 'shared').length;
}

const addUser: Command = {
  hide: 2, logs: true,
  run(c) {
    const [user, , email] = [c.arg(1), c.arg(2), c.arg(3)];
    const pkg = c.args.length >= 4 ? c.arg(4) : 'default';
    const name = c.arg(6) ? `${c.arg(5)} ${c.arg(6)}` : c.arg(5);
    c.checkArgs(3, 'USER PASSWORD EMAIL [PACKAGE] [NAME] ');
    if (user) v.user(user, 'user', true);
    if (email) v.email(email);
    if (pkg) v.object(pkg, 'package');
    if (name) v.name(name);
    if (RESERVED.includes(user.toLowerCase())) {
      fail(E.INVALID, `The user name '${user}' is reserved and cannot be used. List of reserved names: ${RESERVED.join(' ')}`);
    }
    if (readPasswd(c.dir).some((e) => e.name === user) || existsSync(paths.user(c.dir, user))) fail(E.EXISTS, `user ${user} exists`);
    const password = c.passwordArg(c.arg(2));
    if (!existsSync(paths.pkg(c.dir, pkg))) fail(E.NOTEXIST, `package ${pkg} doesn't exist`);
    c.demoMode();

    const pkgData = readKeyFile(paths.pkg(c.dir, pkg));
    const shellName = pkgData.get('SHELL') ?? 'nologin';
    const shell = readShells(c.dir).find((s) => s.split('/').pop() === shellName) ?? '/usr/sbin/nologin';
    addPasswd(c.dir, user, email, shell);
    const data = paths.user(c.dir, user);
    for (const sub of ['ssl', 'dns', 'mail']) mkdirSync(`${data}/${sub}`, { recursive: true });
    for (const f of ['backup.conf', 'history.log', 'stats.log', 'web.conf', 'dns.conf', 'mail.conf', 'db.conf', 'cron.conf']) {
      writeFileSync(`${data}/${f}`, '');
    }
    mkdirSync(paths.home(c.dir, user), { recursive: true });
    const isRoot = user === c.rootUser;
    c.writeUserConf(user, buildUserConf(pkgData, {
      NAME: name, PACKAGE: pkg, CONTACT: email, MD5: passwordHash(password), IP_AVAIL: isRoot ? '0' : String(sharedIps(c)),
      U_USERS: isRoot ? '1' : '0', TIME: c.stamp.time, DATE: c.stamp.date,
    }));
    if (!isRoot && c.userExists(c.rootUser)) c.bump(c.rootUser, 'U_USERS', 1);
    return '';
  },
};

/** Suspend or unsuspend every object of a user, as v-suspend-user's sub-commands do. */
function setObjectsSuspended(c: Ctx, user: string, flag: 'yes' | 'no'): void {
  const web = c.objects(user, 'web'); web.forEach((o) => o.set('SUSPENDED', flag)); c.writeObjects(user, 'web', web);
  const dns = c.objects(user, 'dns');
  for (const z of dns) {
    z.set('SUSPENDED', flag);
    const recs = c.objects(user, `dns/${z.get('DOMAIN')}`); recs.forEach((r) => r.set('SUSPENDED', flag));
    c.writeObjects(user, `dns/${z.get('DOMAIN')}`, recs);
  }
  c.writeObjects(user, 'dns', dns);
  const mail = c.objects(user, 'mail');
  for (const d of mail) {
    d.set('SUSPENDED', flag);
    const accts = c.objects(user, `mail/${d.get('DOMAIN')}`); accts.forEach((a) => a.set('SUSPENDED', flag));
    c.writeObjects(user, `mail/${d.get('DOMAIN')}`, accts);
  }
  c.writeObjects(user, 'mail', mail);
  // Databases and cron jobs too, as v-suspend-user does through v-suspend-databases / v-suspend-cron-jobs.
  const db = c.objects(user, 'db'); db.forEach((o) => o.set('SUSPENDED', flag)); c.writeObjects(user, 'db', db);
  const cron = c.objects(user, 'cron'); cron.forEach((o) => o.set('SUSPENDED', flag)); c.writeObjects(user, 'cron', cron);
  const n = (x: Obj[]) => String(flag === 'yes' ? x.length : 0);
  const fresh = c.userConf(user);
  for (const [k, val] of [['SUSPENDED_WEB', n(web)], ['SUSPENDED_DNS', n(dns)], ['SUSPENDED_MAIL', n(mail)], ['SUSPENDED_DB', n(db)], ['SUSPENDED_CRON', n(cron)], ['SUSPENDED', flag]] as const) fresh.set(k, val);
  c.writeUserConf(user, fresh);
  syncCrontab(c, user);
}

const suspendUser: Command = {
  logs: true,
  run(c) {
    const user = c.arg(1);
    c.checkArgs(1, 'USER [RESTART]');
    if (user) v.user(user); if (c.arg(2)) v.restart(c.arg(2));
    c.userValid(user);
    c.userUnsuspended(user);
    if (user === c.rootUser) return '';
    c.demoMode();
    setObjectsSuspended(c, user, 'yes');
    c.bump(c.rootUser, 'SUSPENDED_USERS', 1);
    return '';
  },
};

const unsuspendUser: Command = {
  logs: true,
  run(c) {
    const user = c.arg(1);
    c.checkArgs(1, 'USER [RESTART]');
    if (user) v.user(user); if (c.arg(2)) v.restart(c.arg(2));
    c.userValid(user);
    if (user === c.rootUser) return '';
    // No "is suspended" check in Hestia: an active user is "unsuspended" again and the counter still drops.
    setObjectsSuspended(c, user, 'no');
    c.bump(c.rootUser, 'SUSPENDED_USERS', -1);
    return '';
  },
};

const deleteUser: Command = {
  logs: true,
  run(c) {
    const user = c.arg(1);
    c.checkArgs(1, 'USER [RESTART]');
    if (user) v.user(user); if (c.arg(2)) v.restart(c.arg(2));
    c.userValid(user);
    if (user === c.rootUser) return '';
    c.demoMode();
    const wasSuspended = c.userValue(user, 'SUSPENDED') === 'yes';
    // The user's FTP accounts (system users named in each web domain's FTP_USER) and crontab go with it.
    const ftp = c.objects(user, 'web').flatMap((w) => (w.get('FTP_USER') ?? '').split(':').filter(Boolean));
    for (const w of c.objects(user, 'web')) ipWebCount(c, w.get('IP') ?? '', user, -1);
    rmSync(paths.crontab(c.dir, user), { force: true });
    rmSync(paths.user(c.dir, user), { recursive: true, force: true });
    rmSync(paths.home(c.dir, user), { recursive: true, force: true });
    writePasswd(c.dir, readPasswd(c.dir).filter((e) => e.name !== user && !ftp.includes(e.name)));
    c.bump(c.rootUser, 'U_USERS', -1);
    if (wasSuspended) c.bump(c.rootUser, 'SUSPENDED_USERS', -1);
    return '';
  },
};

/** data/ips/<ip>: U_WEB_DOMAINS and the U_SYS_USERS list follow the web domains using the IP. */
export function ipWebCount(c: Ctx, ip: string, user: string, delta: number): void {
  const p = paths.ip(c.dir, ip);
  if (!ip || !existsSync(p)) return;
  const o = readKeyFile(p);
  o.set('U_WEB_DOMAINS', String(Math.max(0, Number(o.get('U_WEB_DOMAINS') || 0) + delta)));
  const users = new Set((o.get('U_SYS_USERS') ?? '').split(':').filter(Boolean));
  if (delta > 0) users.add(user); else if (!c.objects(user, 'web').some((w) => w.get('IP') === ip)) users.delete(user);
  o.set('U_SYS_USERS', [...users].join(':'));
  writeKeyFile(p, o);
}

const changeUserPackage: Command = {
  logs: true,
  run(c) {
    const [user, pkg, force] = [c.arg(1), c.arg(2), c.arg(3)];
    c.checkArgs(2, 'USER PACKAGE [FORCE]');
    if (user) v.user(user); if (pkg) v.object(pkg, 'package');
    c.userValid(user);
    if (!existsSync(paths.pkg(c.dir, pkg))) fail(E.NOTEXIST, `package ${pkg} doesn't exist`);
    const pkgData = readKeyFile(paths.pkg(c.dir, pkg));
    const cur = c.userConf(user);
    if (force !== 'yes') {
      // MAIL_DOMAINS is skipped: Hestia's check has a typo ($E_LIMI"T) and never fires.
      for (const [limit, used, label] of [['WEB_DOMAINS', 'U_WEB_DOMAINS', 'WEB_DOMAIN'], ['DNS_DOMAINS', 'U_DNS_DOMAINS', 'DNS_DOMAIN'],
        ['DATABASES', 'U_DATABASES', 'DATABASE'], ['CRON_JOBS', 'U_CRON_JOBS', 'CRON'], ['DISK_QUOTA', 'U_DISK', 'DISK'],
        ['BANDWIDTH', 'U_BANDWIDTH', 'BANDWIDTH']] as const) {
        const l = pkgData.get(limit) ?? 'unlimited';
        if (l !== 'unlimited' && Number(cur.get(used) ?? 0) > Number(l)) fail(E.LIMIT, `Package doesn't cover ${label} usage`);
      }
    }
    c.demoMode();
    c.writeUserConf(user, buildUserConf(pkgData, { PACKAGE: pkg }, cur));
    const shellName = pkgData.get('SHELL') ?? 'nologin';
    const shell = readShells(c.dir).find((s) => s.split('/').pop() === shellName);
    if (shell) writePasswd(c.dir, readPasswd(c.dir).map((e) => (e.name === user ? { ...e, shell } : e)));
    return '';
  },
};

const changeUserPassword: Command = {
  hide: 2, logs: true,
  // Empty PASSWORD with a non-TTY stdin: one line is read from stdin (keeps it out of argv).
  stdin: (args) => (args[1] ?? '') === '' ? 'line' : 'none',
  run(c) {
    const user = c.arg(1);
    c.checkArgs(1, 'USER [PASSWORD]');
    if (user) v.user(user);
    c.userValid(user);
    c.userUnsuspended(user);
    let password = c.arg(2);
    if (password === '') password = c.stdin.split('\n')[0] ?? '';
    password = c.passwordArg(password);
    c.demoMode();
    const o = c.userConf(user);
    o.set('MD5', passwordHash(password)); o.set('RKEY', rkey());
    c.writeUserConf(user, o);
    return '';
  },
};

// --- listings --------------------------------------------------------------------------------
const USERS_JSON_KEYS = ['NAME', 'PACKAGE', 'WEB_TEMPLATE', 'BACKEND_TEMPLATE', 'PROXY_TEMPLATE', 'DNS_TEMPLATE', 'WEB_DOMAINS',
  'WEB_ALIASES', 'DNS_DOMAINS', 'DNS_RECORDS', 'MAIL_DOMAINS', 'MAIL_ACCOUNTS', 'DATABASES', 'CRON_JOBS', 'DISK_QUOTA', 'CPU_QUOTA',
  'CPU_QUOTA_PERIOD', 'MEMORY_LIMIT', 'SWAP_LIMIT', 'BANDWIDTH', 'NS', 'SHELL', 'BACKUPS', 'CONTACT', 'CRON_REPORTS', 'RKEY', 'ROLE',
  'SUSPENDED', 'SUSPENDED_USERS', 'SUSPENDED_WEB', 'SUSPENDED_DNS', 'SUSPENDED_MAIL', 'SUSPENDED_DB', 'SUSPENDED_CRON', 'IP_AVAIL',
  'IP_OWNED', 'U_USERS', 'U_DISK', 'U_DISK_DIRS', 'U_DISK_WEB', 'U_DISK_MAIL', 'U_DISK_DB', 'U_BANDWIDTH', 'U_WEB_DOMAINS', 'U_WEB_SSL',
  'U_WEB_ALIASES', 'U_DNS_DOMAINS', 'U_DNS_RECORDS', 'U_MAIL_DOMAINS', 'U_MAIL_DKIM', 'U_MAIL_ACCOUNTS', 'U_DATABASES', 'U_CRON_JOBS',
  'U_BACKUPS', 'LANGUAGE', 'TIME', 'DATE'];
const USER_JSON_KEYS = ['NAME', 'PACKAGE', 'WEB_TEMPLATE', 'BACKEND_TEMPLATE', 'PROXY_TEMPLATE', 'DNS_TEMPLATE', 'WEB_DOMAINS',
  'WEB_ALIASES', 'DNS_DOMAINS', 'DNS_RECORDS', 'MAIL_DOMAINS', 'MAIL_ACCOUNTS', 'DATABASES', 'CRON_JOBS', 'DISK_QUOTA', 'BANDWIDTH',
  'HOME', 'NS', 'SHELL', 'BACKUPS', 'CONTACT', 'CRON_REPORTS', 'RKEY', 'TWOFA', 'QRCODE', 'ROLE', 'SUSPENDED', 'SUSPENDED_USERS',
  'SUSPENDED_WEB', 'SUSPENDED_DNS', 'SUSPENDED_MAIL', 'SUSPENDED_DB', 'SUSPENDED_CRON', 'IP_AVAIL', 'IP_OWNED', 'U_USERS', 'U_DISK',
  'U_DISK_DIRS', 'U_DISK_WEB', 'U_DISK_MAIL', 'U_DISK_DB', 'U_BANDWIDTH', 'U_WEB_DOMAINS', 'U_WEB_SSL', 'U_WEB_ALIASES',
  'U_DNS_DOMAINS', 'U_DNS_RECORDS', 'U_MAIL_DOMAINS', 'U_MAIL_DKIM', 'U_MAIL_ACCOUNTS', 'U_DATABASES', 'U_CRON_JOBS', 'U_BACKUPS',
  'BACKUPS_INCREMENTAL', 'LANGUAGE', 'THEME', 'NOTIFICATIONS', 'PREF_UI_SORT', 'LOGIN_DISABLED', 'LOGIN_USE_IPLIST',
  'LOGIN_ALLOW_IPS', 'PHPCLI', 'TIME', 'DATE'];

/** `grep '@' /etc/passwd` order, only names with a user.conf (issue #4101). */
function listedUsers(c: Ctx): string[] {
  return readPasswd(c.dir).filter((e) => `${e.name}:x:${e.uid}:${e.uid}:${e.gecos}:${e.home}:${e.shell}`.includes('@'))
    .map((e) => e.name).filter((u) => c.userExists(u));
}

const listUsers: Command = {
  run(c) {
    const format = c.args.length >= 1 ? c.arg(1) : 'shell';
    const users = listedUsers(c).map((u) => [u, c.userConf(u)] as const);
    switch (format) {
      case 'json': return jsonUsers(users.map(([u, o]) => [u, pick(o, USERS_JSON_KEYS)]));
      case 'plain': return plainRows(users.map(([u, o]) => [u, ...USERS_JSON_KEYS.map((k) => o.get(k) ?? ''), ''])).replace(/\t\n/g, '\t\n');
      case 'list': return users.map(([u]) => u + '\n').join('');
      case 'shell': return columnT(['USER   ROLE   PKG   WEB   DNS   MAIL   DB   DISK   BW   SPND   DATE',
        '----   ----   ---   ---   ---   ---    --   ----   --   ----   ----',
        ...users.map(([u, o]) => ['ROLE', 'PACKAGE', 'U_WEB_DOMAINS', 'U_DNS_DOMAINS', 'U_MAIL_DOMAINS', 'U_DATABASES', 'U_DISK',
          'U_BANDWIDTH', 'SUSPENDED', 'DATE'].reduce((l, k) => `${l} ${o.get(k) ?? ''}`, u))]);
      default: return '';
    }
  },
};

const listUser: Command = {
  run(c) {
    const user = c.arg(1);
    const format = c.args.length >= 2 ? c.arg(2) : 'shell';
    c.checkArgs(1, 'USER [FORMAT]');
    if (user) v.user(user);
    c.userValid(user);
    const o = c.userConf(user);
    // U_USERS and SUSPENDED_USERS always come from ROOT_USER.
    const root = c.userConf(c.rootUser);
    const extra = { HOME: `/home/${user}`, U_USERS: root.get('U_USERS') ?? '', SUSPENDED_USERS: root.get('SUSPENDED_USERS') ?? '' };
    const g = (k: string) => (extra as Record<string, string>)[k] ?? o.get(k) ?? '';
    switch (format) {
      case 'json': return jsonSingle(user, pick(o, USER_JSON_KEYS, extra));
      case 'plain': return plainRows([[user, ...USER_JSON_KEYS.filter((k) => !['TWOFA', 'QRCODE', 'ROLE', 'BACKUPS_INCREMENTAL'].includes(k)).map(g)]]);
      case 'shell': return [
        ['USERNAME:      ', user], ['FULL NAME:     ', g('NAME')], ['EMAIL:         ', g('CONTACT')], ['LANGUAGE:      ', g('LANGUAGE')],
        ['THEME:         ', g('THEME')], ['SUSPENDED:     ', g('SUSPENDED')], ['PACKAGE:       ', g('PACKAGE')], ['SHELL:         ', g('SHELL')],
        ['WEB DOMAINS:   ', `${g('U_WEB_DOMAINS')}/${g('WEB_DOMAINS')}`], ['WEB ALIASES:   ', `${g('U_WEB_ALIASES')}/${g('WEB_ALIASES')}`],
        ['DNS DOMAINS:   ', `${g('U_DNS_DOMAINS')}/${g('DNS_DOMAINS')}`], ['DNS RECORDS:   ', `${g('U_DNS_RECORDS')}/${g('DNS_RECORDS')}`],
        ['MAIL DOMAINS:  ', `${g('U_MAIL_DOMAINS')}/${g('MAIL_DOMAINS')}`], ['MAIL ACCOUNTS: ', `${g('U_MAIL_ACCOUNTS')}/${g('MAIL_ACCOUNTS')}`],
        ['BACKUPS:       ', `${g('U_BACKUPS')}/${g('BACKUPS')}`], ['DATABASES:     ', `${g('U_DATABASES')}/${g('DATABASES')}`],
        ['CRON_JOBS:     ', `${g('U_CRON_JOBS')}/${g('CRON_JOBS')}`], ['DISK:          ', `${g('U_DISK')}/${g('DISK_QUOTA')}`],
        ['BANDWIDTH:     ', `${g('U_BANDWIDTH')}/${g('BANDWIDTH')}`], ['IP ADDRESSES   ', `${g('IP_AVAIL')}/${g('IP_OWNED')}`],
        ['TIME:          ', g('TIME')], ['DATE:          ', g('DATE')],
      ].map(([a, b]) => `${a}${b}\n`).join('');
      default: return '';
    }
  },
};

/** Recompute counters from the conf files, as v-update-user-counters does. */
export function recount(c: Ctx, user: string): void {
  const o = c.userConf(user);
  const web = c.objects(user, 'web'); const dns = c.objects(user, 'dns'); const mail = c.objects(user, 'mail');
  const sus = (x: Obj[]) => String(x.filter((i) => i.get('SUSPENDED') === 'yes').length);
  o.set('U_WEB_DOMAINS', String(web.length));
  o.set('U_WEB_SSL', String(web.filter((w) => w.get('SSL') === 'yes').length));
  o.set('U_WEB_ALIASES', String(web.reduce((n, w) => n + (w.get('ALIAS') ?? '').split(',').filter(Boolean).length, 0)));
  o.set('SUSPENDED_WEB', sus(web));
  o.set('U_DNS_DOMAINS', String(dns.length));
  o.set('U_DNS_RECORDS', String(dns.reduce((n, z) => n + c.objects(user, `dns/${z.get('DOMAIN')}`).length, 0)));
  o.set('SUSPENDED_DNS', sus(dns));
  o.set('U_MAIL_DOMAINS', String(mail.length));
  o.set('U_MAIL_DKIM', String(mail.filter((m) => m.get('DKIM') === 'yes').length));
  o.set('U_MAIL_ACCOUNTS', String(mail.reduce((n, d) => n + c.objects(user, `mail/${d.get('DOMAIN')}`).length, 0)));
  o.set('SUSPENDED_MAIL', sus(mail));
  o.set('U_DATABASES', String(c.objects(user, 'db').length));
  o.set('U_CRON_JOBS', String(c.objects(user, 'cron').length));
  o.set('SUSPENDED_DB', sus(c.objects(user, 'db')));
  o.set('SUSPENDED_CRON', sus(c.objects(user, 'cron')));
  o.set('U_BACKUPS', String(c.objects(user, 'backup').length));
  if (user === c.rootUser) {
    const all = c.allUsers();
    o.set('U_USERS', String(all.length));
    o.set('SUSPENDED_USERS', String(all.filter((u) => u !== user && c.userValue(u, 'SUSPENDED') === 'yes').length));
  }
  c.writeUserConf(user, o);
}

const updateUserCounters: Command = {
  logs: true,
  run(c) {
    const user = c.arg(1);
    if (user) { v.user(user); c.userValid(user); }
    for (const u of user ? [user] : listedUsers(c)) recount(c, u);
    return '';
  },
};

export const userCommands: Record<string, Command> = {
  'v-add-user': addUser, 'v-delete-user': deleteUser, 'v-suspend-user': suspendUser, 'v-unsuspend-user': unsuspendUser,
  'v-change-user-package': changeUserPackage, 'v-change-user-password': changeUserPassword, 'v-list-users': listUsers,
  'v-list-user': listUser, 'v-update-user-counters': updateUserCounters,
};
