// One emulated HestiaCP node = one directory laid out like $HESTIA (/usr/local/hestia), plus a
// virtual /etc (passwd, shells) and a virtual /tmp. Paths below are the only place that knows it.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite, type Obj, readKeyFile, writeKeyFile } from './conf.ts';

export interface NodeRoles { web?: boolean; mail?: boolean; dns?: boolean }

export interface CreateNodeOptions {
  hostname: string;
  ip: string;
  roles: NodeRoles;
  rootUser?: string;
  /** Extra hestia.conf keys (e.g. ENFORCE_SUBDOMAIN_OWNERSHIP, DEMO_MODE). */
  config?: Record<string, string>;
}

export const paths = {
  conf: (d: string) => join(d, 'conf', 'hestia.conf'),
  users: (d: string) => join(d, 'data', 'users'),
  user: (d: string, u: string) => join(d, 'data', 'users', u),
  userConf: (d: string, u: string) => join(d, 'data', 'users', u, 'user.conf'),
  userFile: (d: string, u: string, f: string) => join(d, 'data', 'users', u, f),
  packages: (d: string) => join(d, 'data', 'packages'),
  pkg: (d: string, p: string) => join(d, 'data', 'packages', `${p}.pkg`),
  template: (d: string, kind: string, t: string) => join(d, 'data', 'templates', kind, `${t}.tpl`),
  ips: (d: string) => join(d, 'data', 'ips'),
  ip: (d: string, ip: string) => join(d, 'data', 'ips', ip),
  systemLog: (d: string) => join(d, 'log', 'system.log'),
  errorLog: (d: string) => join(d, 'log', 'error.log'),
  execLog: (d: string) => join(d, 'log', 'emulator-exec.log'),
  passwd: (d: string) => join(d, 'etc', 'passwd'),
  shells: (d: string) => join(d, 'etc', 'shells'),
  tmp: (d: string) => join(d, 'tmp'),
  home: (d: string, u: string) => join(d, 'home', u),
  /** $HESTIA/conf/<type>.conf: the database servers of one DB_SYSTEM type (mysql, pgsql). */
  dbHosts: (d: string, type: string) => join(d, 'conf', `${type}.conf`),
  /** Virtual /var/spool/cron/crontabs/<u>, rewritten by sync_cron_jobs. */
  crontab: (d: string, u: string) => join(d, 'var', 'spool', 'cron', 'crontabs', u),
};

export const DEFAULT_PACKAGE: [string, string][] = [
  ['WEB_TEMPLATE', 'default'], ['PROXY_TEMPLATE', 'default'], ['BACKEND_TEMPLATE', 'default'],
  ['DNS_TEMPLATE', 'default'], ['WEB_DOMAINS', 'unlimited'], ['WEB_ALIASES', 'unlimited'],
  ['DNS_DOMAINS', 'unlimited'], ['DNS_RECORDS', 'unlimited'], ['MAIL_DOMAINS', 'unlimited'],
  ['MAIL_ACCOUNTS', 'unlimited'], ['RATE_LIMIT', '200'], ['DATABASES', 'unlimited'],
  ['CRON_JOBS', 'unlimited'], ['DISK_QUOTA', 'unlimited'], ['CPU_QUOTA', 'unlimited'],
  ['CPU_QUOTA_PERIOD', 'unlimited'], ['MEMORY_LIMIT', 'unlimited'], ['SWAP_LIMIT', 'unlimited'],
  ['BANDWIDTH', 'unlimited'], ['NS', 'ns1.domain.tld,ns2.domain.tld'], ['SHELL', 'nologin'],
  ['BACKUPS', '1'], ['BACKUPS_INCREMENTAL', 'no'], ['TIME', '18:00:00'], ['DATE', '2019-01-15'],
];

// system.pkg as shipped: one web/dns/mail domain, one mail account, no databases.
const SYSTEM_OVERRIDES: Record<string, string> = {
  WEB_DOMAINS: '1', WEB_ALIASES: '1', DNS_DOMAINS: '1', MAIL_DOMAINS: '1', MAIL_ACCOUNTS: '1',
  DATABASES: '0', TIME: '00:00:00', DATE: '2022-01-20',
};

// install/common/templates/dns/default.tpl, with %placeholders% filled at v-add-dns-domain time.
export const DNS_DEFAULT_TPL = [
  ...[1, 2, 3, 4, 5, 6, 7, 8].map((n) => `ID='${n}' RECORD='@' TYPE='NS' PRIORITY='' VALUE='%ns${n}%.' SUSPENDED='no' TIME='%time%' DATE='%date%'`),
  `ID='9' RECORD='@' TYPE='A' PRIORITY='' VALUE='%ip%' SUSPENDED='no' TIME='%time%' DATE='%date%'`,
  `ID='10' RECORD='www' TYPE='CNAME' PRIORITY='' VALUE='%domain%.' SUSPENDED='no' TIME='%time%' DATE='%date%'`,
  `ID='11' RECORD='ftp' TYPE='CNAME' PRIORITY='' VALUE='%domain%.' SUSPENDED='no' TIME='%time%' DATE='%date%'`,
  `ID='12' RECORD='mail' TYPE='A' PRIORITY='' VALUE='%ip%' SUSPENDED='no' TIME='%time%' DATE='%date%'`,
  `ID='13' RECORD='webmail' TYPE='CNAME' PRIORITY='' VALUE='mail.%domain%.' SUSPENDED='no' TIME='%time%' DATE='%date%'`,
  `ID='14' RECORD='@' TYPE='MX' PRIORITY='0' VALUE='mail.%domain%.' SUSPENDED='no' TIME='%time%' DATE='%date%'`,
  `ID='15' RECORD='@' TYPE='TXT' PRIORITY='' VALUE='"v=spf1 a mx ip4:%ip% -all"' SUSPENDED='no' TIME='%time%' DATE='%date%'`,
  `ID='16' RECORD='_dmarc' TYPE='TXT' PRIORITY='' VALUE='"v=DMARC1; p=quarantine; pct=100"' SUSPENDED='no' TIME='%time%' DATE='%date%'`,
  `ID='17' RECORD='_submission._tcp' TYPE='SRV' PRIORITY='1' VALUE='0 587 mail.%domain%.' SUSPENDED='no' TIME='%time%' DATE='%date%'`,
  `ID='18' RECORD='_imap._tcp' TYPE='SRV' PRIORITY='1' VALUE='0 143 mail.%domain%.' SUSPENDED='no' TIME='%time%' DATE='%date%'`,
  `ID='19' RECORD='_imaps._tcp' TYPE='SRV' PRIORITY='1' VALUE='0 993 mail.%domain%.' SUSPENDED='no' TIME='%time%' DATE='%date%'`,
  `ID='20' RECORD='_pop3._tcp' TYPE='SRV' PRIORITY='1' VALUE='0 110 mail.%domain%.' SUSPENDED='no' TIME='%time%' DATE='%date%'`,
  `ID='21' RECORD='_pop3s._tcp' TYPE='SRV' PRIORITY='1' VALUE='0 995 mail.%domain%.' SUSPENDED='no' TIME='%time%' DATE='%date%'`,
].join('\n') + '\n';

export function nowStamp(): { time: string; date: string } {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return {
    time: `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`,
    date: `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`,
  };
}

export function readConfig(dir: string): Obj { return readKeyFile(paths.conf(dir)); }

// --- virtual /etc/passwd -------------------------------------------------------------------
export interface PasswdEntry { name: string; uid: number; gecos: string; home: string; shell: string }

export function readPasswd(dir: string): PasswdEntry[] {
  const p = paths.passwd(dir);
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => {
    const f = l.split(':');
    return { name: f[0]!, uid: Number(f[2]), gecos: f[4] ?? '', home: f[5] ?? '', shell: f[6] ?? '' };
  });
}

export function writePasswd(dir: string, entries: PasswdEntry[]): void {
  atomicWrite(paths.passwd(dir), entries.map((e) => `${e.name}:x:${e.uid}:${e.uid}:${e.gecos}:${e.home}:${e.shell}\n`).join(''));
}

export function addPasswd(dir: string, name: string, gecos: string, shell: string): PasswdEntry {
  const entries = readPasswd(dir);
  const uid = Math.max(999, ...entries.filter((e) => e.uid >= 1000 && e.uid < 60000).map((e) => e.uid)) + 1;
  const entry = { name, uid, gecos, home: `/home/${name}`, shell };
  writePasswd(dir, [...entries, entry]);
  return entry;
}

export function readShells(dir: string): string[] {
  return readFileSync(paths.shells(dir), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
}

// --- logs ------------------------------------------------------------------------------------
export function appendLog(path: string, line: string): void { appendFileSync(path, line + '\n'); }

/** Lay out the files of a freshly installed HestiaCP, before its admin user exists. */
export function initNodeFiles(dir: string, opts: CreateNodeOptions): void {
  const root = opts.rootUser ?? 'admin';
  for (const sub of ['conf', 'data/users', 'data/packages', 'data/ips', 'data/queue', 'log', 'etc', 'tmp', 'home',
    'data/templates/web', 'data/templates/proxy', 'data/templates/backend', 'data/templates/dns']) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  const r = opts.roles;
  const conf: Obj = new Map([
    ['ANTISPAM_SYSTEM', ''], ['ANTIVIRUS_SYSTEM', ''], ['BACKEND_PORT', '8083'], ['BACKUP_SYSTEM', 'local'],
    ['CRON_SYSTEM', 'cron'], ['DB_SYSTEM', ''], ['DEMO_MODE', 'no'],
    ['DNS_CLUSTER', 'no'], ['DNS_SYSTEM', r.dns ? 'bind9' : ''], ['ENFORCE_SUBDOMAIN_OWNERSHIP', 'yes'],
    ['FTP_SYSTEM', r.web ? 'vsftpd' : ''], ['IMAP_SYSTEM', r.mail ? 'dovecot' : ''],
    ['MAIL_SYSTEM', r.mail ? 'exim4' : ''], ['PROXY_SYSTEM', r.web ? 'nginx' : ''], ['RELEASE_BRANCH', 'release'],
    ['ROOT_USER', root], ['VERSION', '1.10.3'], ['WEBMAIL_ALIAS', r.mail ? 'webmail' : ''],
    ['WEBMAIL_SYSTEM', r.mail ? 'roundcube' : ''], ['WEB_BACKEND', r.web ? 'php-fpm' : ''],
    ['WEB_SSL', r.web ? 'openssl' : ''], ['WEB_SYSTEM', r.web ? 'apache2' : ''],
    // Emulator-only key: what v-list-sys-info reports as HOSTNAME.
    ['EMULATOR_HOSTNAME', opts.hostname],
  ]);
  for (const [k, v] of Object.entries(opts.config ?? {})) conf.set(k, v);
  writeKeyFile(paths.conf(dir), new Map([...conf].sort(([a], [b]) => (a < b ? -1 : 1))));

  writeKeyFile(paths.pkg(dir, 'default'), new Map(DEFAULT_PACKAGE));
  writeKeyFile(paths.pkg(dir, 'system'), new Map(DEFAULT_PACKAGE.map(([k, v]) => [k, SYSTEM_OVERRIDES[k] ?? v])));
  for (const kind of ['web', 'proxy', 'backend']) writeFileSync(paths.template(dir, kind, 'default'), '# emulator template\n');
  writeFileSync(paths.template(dir, 'dns', 'default'), DNS_DEFAULT_TPL);

  const { time, date } = nowStamp();
  writeKeyFile(paths.ip(dir, opts.ip), new Map([
    ['OWNER', root], ['STATUS', 'shared'], ['NAME', ''], ['U_SYS_USERS', ''], ['U_WEB_DOMAINS', '0'],
    ['INTERFACE', 'eth0'], ['NETMASK', '255.255.255.0'], ['NAT', ''], ['TIME', time], ['DATE', date],
  ]));
  writeFileSync(paths.shells(dir), '# /etc/shells\n/bin/sh\n/bin/bash\n/usr/bin/bash\n/bin/dash\n/usr/sbin/nologin\n/bin/false\n');
  writePasswd(dir, [
    { name: 'root', uid: 0, gecos: 'root', home: '/root', shell: '/bin/bash' },
    { name: 'www-data', uid: 33, gecos: 'www-data', home: '/var/www', shell: '/usr/sbin/nologin' },
  ]);
  for (const f of ['system.log', 'error.log']) writeFileSync(join(dir, 'log', f), '');
  writeFileSync(paths.execLog(dir), '');
}
