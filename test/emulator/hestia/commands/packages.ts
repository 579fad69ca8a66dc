// v-add-user-package, v-delete-user-package, v-list-user-packages, v-list-user-package.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { parseLine, readKeyFile, writeKeyFile } from '../conf.ts';
import { E, fail, HestiaExit } from '../errors.ts';
import { paths, readShells } from '../node.ts';
import { columnT, jsonObjects, pick, plainRows } from '../output.ts';
import * as v from '../validate.ts';
import type { Ctx } from './ctx.ts';
import type { Command } from './types.ts';
import { userCommands } from './users.ts';

const PKG_KEYS = ['WEB_TEMPLATE', 'PROXY_TEMPLATE', 'BACKEND_TEMPLATE', 'DNS_TEMPLATE', 'WEB_DOMAINS', 'WEB_ALIASES', 'DNS_DOMAINS',
  'DNS_RECORDS', 'MAIL_DOMAINS', 'MAIL_ACCOUNTS', 'RATE_LIMIT', 'DATABASES', 'CRON_JOBS', 'DISK_QUOTA', 'CPU_QUOTA', 'CPU_QUOTA_PERIOD',
  'MEMORY_LIMIT', 'SWAP_LIMIT', 'BANDWIDTH', 'NS', 'SHELL', 'BACKUPS', 'BACKUPS_INCREMENTAL'];
const LIST_KEYS = ['WEB_TEMPLATE', 'PROXY_TEMPLATE', 'DNS_TEMPLATE', 'WEB_DOMAINS', 'WEB_ALIASES', 'DNS_DOMAINS', 'DNS_RECORDS',
  'MAIL_DOMAINS', 'MAIL_ACCOUNTS', 'DATABASES', 'CRON_JOBS', 'DISK_QUOTA', 'CPU_QUOTA', 'CPU_QUOTA_PERIOD', 'MEMORY_LIMIT',
  'SWAP_LIMIT', 'BANDWIDTH', 'NS', 'SHELL', 'BACKUPS', 'TIME', 'DATE'];
const ONE_KEYS = ['WEB_TEMPLATE', 'BACKEND_TEMPLATE', 'PROXY_TEMPLATE', 'DNS_TEMPLATE', 'WEB_DOMAINS', 'WEB_ALIASES', 'DNS_DOMAINS',
  'DNS_RECORDS', 'MAIL_DOMAINS', 'MAIL_ACCOUNTS', 'RATE_LIMIT', 'DATABASES', 'CRON_JOBS', 'DISK_QUOTA', 'CPU_QUOTA', 'CPU_QUOTA_PERIOD',
  'MEMORY_LIMIT', 'SWAP_LIMIT', 'BANDWIDTH', 'NS', 'SHELL', 'BACKUPS', 'BACKUPS_INCREMENTAL', 'TIME', 'DATE'];

const addUserPackage: Command = {
  logs: true,
  run(c) {
    const [tmpfile, pkg, rewrite] = [c.arg(1), c.arg(2), c.arg(3)];
    c.checkArgs(2, 'PKG_DIR PACKAGE');
    if (pkg) v.object(pkg, 'package');
    const exists = existsSync(paths.pkg(c.dir, pkg));
    if (rewrite !== 'yes' && exists) throw new HestiaExit(E.EXISTS, `Error: package ${pkg} already exists.\n`);
    if (rewrite === 'yes' && !exists) fail(E.NOTEXIST, `package ${pkg} doesn't exist`);
    const real = c.tmpPath(tmpfile) ?? tmpfile;
    if (!existsSync(real) || !statSync(real).isFile()) throw new HestiaExit(E.NOTEXIST, `${tmpfile} does not exist\n`);
    const p = new Map<string, string>();
    for (const line of readFileSync(real, 'utf8').split('\n')) for (const [k, val] of parseLine(line)) p.set(k, val);
    const g = (k: string) => p.get(k) ?? '';
    for (const k of ['WEB_DOMAINS', 'WEB_ALIASES', 'DNS_DOMAINS', 'DNS_RECORDS', 'MAIL_DOMAINS', 'MAIL_ACCOUNTS', 'DATABASES', 'CRON_JOBS']) {
      if (g(k) !== 'unlimited') v.int(g(k), k);
    }
    v.int(g('RATE_LIMIT'), 'RATE_LIMIT');
    for (const k of ['DISK_QUOTA']) if (g(k) !== 'unlimited') v.int(g(k), k);
    if (c.conf('RESOURCES_LIMIT') === 'yes') {
      if (g('CPU_QUOTA') !== 'unlimited' && !/^\d+%$/.test(g('CPU_QUOTA'))) fail(E.INVALID, `invalid CPU_QUOTA format :: ${g('CPU_QUOTA')}`);
      if (g('CPU_QUOTA_PERIOD') !== 'unlimited' && !/^\d+(ms|s)$/.test(g('CPU_QUOTA_PERIOD'))) fail(E.INVALID, `invalid CPU_QUOTA_PERIOD format :: ${g('CPU_QUOTA_PERIOD')}`);
      for (const k of ['MEMORY_LIMIT', 'SWAP_LIMIT']) if (g(k) !== 'unlimited' && !/^\d+[KMGT]?$/.test(g(k))) fail(E.INVALID, `invalid ${k} format :: ${g(k)}`);
    }
    if (g('BANDWIDTH') !== 'unlimited') v.int(g('BANDWIDTH'), 'BANDWIDTH');
    v.int(g('BACKUPS'), 'BACKUPS');
    v.bool(g('BACKUPS_INCREMENTAL'), 'BACKUPS_INCREMENTAL');
    for (const [key, kind, label] of [['WEB_TEMPLATE', 'web', 'web'], ['BACKEND_TEMPLATE', 'backend', 'backend'],
      ['PROXY_TEMPLATE', 'proxy', 'proxy'], ['DNS_TEMPLATE', 'dns', 'dns']] as const) {
      if (g(key) && !existsSync(paths.template(c.dir, kind, g(key)))) fail(E.NOTEXIST, `${label} template ${g(key)} doesn't exist`);
    }
    g('NS').split(',').filter(Boolean).forEach((ns, i) => v.domain(ns, `ns${i + 1}`));
    const shell = g('SHELL').split('/').pop() ?? '';
    // grep -w in /etc/shells: the name must appear as a whole word.
    if (!readShells(c.dir).some((s) => new RegExp(`(^|[^\\w])${shell.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^\\w]|$)`).test(s)) || shell === '') {
      throw new HestiaExit(E.INVALID, `Error: shell ${g('SHELL')} is not valid\n`);
    }
    c.demoMode();
    const out = new Map(PKG_KEYS.map((k) => [k, k === 'SHELL' ? shell : g(k)] as [string, string]));
    out.set('TIME', c.stamp.time); out.set('DATE', c.stamp.date);
    writeKeyFile(paths.pkg(c.dir, pkg), out);
    return '';
  },
};

const deleteUserPackage: Command = {
  logs: true,
  run(c) {
    const pkg = c.arg(1);
    c.checkArgs(1, 'PACKAGE');
    if (pkg) v.object(pkg, 'package');
    if (!existsSync(paths.pkg(c.dir, pkg))) fail(E.NOTEXIST, `package ${pkg} doesn't exist`);
    // Users on the package move to `default` first (v-change-user-package USER default).
    for (const u of c.allUsers()) {
      if (c.userValue(u, 'PACKAGE').startsWith(pkg)) {
        userCommands['v-change-user-package']!.run(new (c.constructor as typeof Ctx)(c.dir, 'v-change-user-package', [u, 'default'], '', c.opts));
      }
    }
    c.demoMode();
    rmSync(paths.pkg(c.dir, pkg));
    return '';
  },
};

/** `ls --sort=time`: newest mtime first. */
function packagesByTime(c: Ctx): string[] {
  return readdirSync(paths.packages(c.dir)).filter((f) => f.endsWith('.pkg'))
    .map((f) => [f, statSync(`${paths.packages(c.dir)}/${f}`).mtimeMs] as const)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([f]) => f.slice(0, -4));
}

const listUserPackages: Command = {
  run(c) {
    const format = c.args.length >= 1 ? c.arg(1) : 'shell';
    const pkgs = packagesByTime(c).map((p) => [p, readKeyFile(paths.pkg(c.dir, p))] as const);
    switch (format) {
      case 'json': return jsonObjects(pkgs.map(([p, o]) => [p, pick(o, LIST_KEYS)]));
      case 'plain': return plainRows(pkgs.map(([p, o]) => [p, ...LIST_KEYS.filter((k) => k !== 'BACKEND_TEMPLATE').map((k) => o.get(k) ?? '')]));
      case 'shell': return columnT(['PKG   TPL   WEB   DNS   MAIL   DB   SHELL   DISK   CPU_QUOTA   CPU_QUOTA_PERIOD   MEMORY_LIMIT   SWAP_LIMIT   BW',
        '---   ---   ---   ---   ----   --   -----   ----   ---------   ----------------   ------------   ----------   --',
        ...pkgs.map(([p, o]) => [p, ...['WEB_TEMPLATE', 'WEB_DOMAINS', 'DNS_DOMAINS', 'MAIL_DOMAINS', 'DATABASES', 'SHELL', 'DISK_QUOTA',
          'CPU_QUOTA', 'CPU_QUOTA_PERIOD', 'MEMORY_LIMIT', 'SWAP_LIMIT', 'BANDWIDTH'].map((k) => (o.get(k) ?? '').replace(/unlimited/g, 'unlim'))].join(' '))]);
      default: return '';
    }
  },
};

const listUserPackage: Command = {
  run(c) {
    const pkg = c.arg(1);
    const format = c.args.length >= 2 ? c.arg(2) : 'shell';
    c.checkArgs(1, 'PACKAGE [FORMAT]');
    if (pkg) v.object(pkg, 'package');
    if (!existsSync(paths.pkg(c.dir, pkg))) fail(E.NOTEXIST, `package ${pkg} doesn't exist`);
    const o = readKeyFile(paths.pkg(c.dir, pkg));
    switch (format) {
      case 'json': return jsonObjects([[pkg, pick(o, ONE_KEYS)]]);
      case 'plain': return plainRows([[pkg, ...ONE_KEYS.map((k) => o.get(k) ?? '')]]);
      case 'shell': return ONE_KEYS.map((k) => `${(k.replace(/_/g, ' ') + ':').padEnd(22)}${o.get(k) ?? ''}\n`).join('');
      default: return '';
    }
  },
};

export const packageCommands: Record<string, Command> = {
  'v-add-user-package': addUserPackage, 'v-delete-user-package': deleteUserPackage,
  'v-list-user-packages': listUserPackages, 'v-list-user-package': listUserPackage,
};
