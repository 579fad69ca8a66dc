// What every v-* script sources from func/main.sh: config, argument checks, object lookups,
// counters and the password-file indirection, bound to one node directory.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import type { DnsAnswers } from '../acme.ts';
import { type Obj, readKeyFile, readObjects, writeKeyFile, writeObjects } from '../conf.ts';
import { E, fail, HestiaExit } from '../errors.ts';
import { nowStamp, paths, readConfig } from '../node.ts';

export interface RunOptions {
  /** Where `/tmp/<file>` arguments are read: the node's virtual tmp (default) or a real root like `/`. */
  tmpRoot?: string;
  /** DNS answers looked up before a command that needs the network (v-add-letsencrypt-domain); none = nothing resolves. */
  dns?: DnsAnswers;
}

export class Ctx {
  readonly cfg: Obj;
  readonly stamp = nowStamp();
  /** Argument position (1-based) logged as '******'. */
  hide = 0;
  constructor(readonly dir: string, readonly script: string, readonly args: string[], readonly stdin: string, readonly opts: RunOptions) {
    this.cfg = readConfig(dir);
  }

  arg(n: number): string { return this.args[n - 1] ?? ''; }
  conf(key: string): string { return this.cfg.get(key) ?? ''; }
  get rootUser(): string { return this.conf('ROOT_USER'); }

  /** check_args: `Usage:` on stdout, error.log line, exit 1. */
  checkArgs(min: number, usage: string): void {
    if (this.args.length < min) throw new HestiaExit(E.ARGS, `Usage: ${this.script} ${usage}\n`);
  }

  systemEnabled(key: string): void {
    const v = this.conf(key);
    if (v === '' || v === 'no') fail(E.DISABLED, `${key} is not enabled`);
  }

  demoMode(): void {
    if (this.conf('DEMO_MODE') === 'yes') {
      throw new HestiaExit(E.ARGS, 'ERROR: Unable to perform operation due to security restrictions that are in place.\n');
    }
  }

  // --- users ------------------------------------------------------------------------------
  userExists(u: string): boolean { return existsSync(paths.userConf(this.dir, u)); }
  userValid(u: string): void { if (!this.userExists(u)) fail(E.NOTEXIST, `user ${u} doesn't exist`); }
  userConf(u: string): Obj { return readKeyFile(paths.userConf(this.dir, u)); }
  writeUserConf(u: string, o: Obj): void { writeKeyFile(paths.userConf(this.dir, u), o); }
  userUnsuspended(u: string): void {
    if (this.userConf(u).get('SUSPENDED') === 'yes') fail(E.SUSPENDED, `user ${u} is suspended`);
  }
  userValue(u: string, key: string): string { return this.userConf(u).get(key) ?? ''; }
  allUsers(): string[] {
    const d = paths.users(this.dir);
    return existsSync(d) ? readdirSync(d).filter((u) => this.userExists(u)) : [];
  }

  /** increase_user_value / decrease_user_value: read, add, rewrite (no lock, as in Hestia). */
  bump(u: string, key: string, delta: number): void {
    const c = this.userConf(u);
    if (!c.has(key)) return;
    c.set(key, String(Math.max(0, Number(c.get(key) || 0) + delta)));
    this.writeUserConf(u, c);
  }

  // --- per-user object confs (web.conf, mail/<d>.conf …) -----------------------------------
  file(u: string, conf: string): string { return paths.userFile(this.dir, u, `${conf}.conf`); }
  objects(u: string, conf: string): Obj[] { return readObjects(this.file(u, conf)); }
  writeObjects(u: string, conf: string, objs: Obj[]): void { writeObjects(this.file(u, conf), objs); }
  find(u: string, conf: string, key: string, value: string): Obj | undefined {
    return this.objects(u, conf).find((o) => o.get(key) === value);
  }

  /** is_object_valid: `<basename conf> <key lowercase> <v> doesn't exist`. */
  objectValid(u: string, conf: string, key: string, value: string): Obj {
    const o = this.find(u, conf, key, value);
    if (!o) fail(E.NOTEXIST, `${conf.split('/').pop()} ${key.toLowerCase()} ${value} doesn't exist`);
    return o;
  }
  objectUnsuspended(u: string, conf: string, key: string, value: string): void {
    if (this.find(u, conf, key, value)?.get('SUSPENDED') === 'yes') fail(E.SUSPENDED, `${conf.split('/').pop()} ${value} is suspended`);
  }
  objectSuspended(u: string, conf: string, key: string, value: string): void {
    if (this.find(u, conf, key, value)?.get('SUSPENDED') !== 'yes') fail(E.UNSUSPENDED, `${conf.split('/').pop()} ${value} is not suspended`);
  }
  /** update_object_value: rewrite one key of one object line. */
  updateObject(u: string, conf: string, key: string, value: string, changes: Record<string, string>): void {
    const objs = this.objects(u, conf);
    for (const o of objs) if (o.get(key) === value) for (const [k, v] of Object.entries(changes)) o.set(k, v);
    this.writeObjects(u, conf, objs);
  }

  /** is_package_full: used = lines in the conf, limit from user.conf. */
  packageFull(u: string, limitKey: string, used: number, orEqual = true): void {
    const limit = this.userValue(u, limitKey);
    if (limit !== 'unlimited' && limit !== '' && (orEqual ? used >= Number(limit) : used > Number(limit))) {
      fail(E.LIMIT, `${limitKey} limit is reached :: upgrade user package`);
    }
  }

  /** is_password_valid: `/tmp/<file>` without `../` that exists → its first line. */
  passwordArg(p: string): string {
    if (!p.startsWith('/tmp/') || p.includes('../')) return p;
    const real = this.tmpPath(p);
    if (!real || !existsSync(real)) return p;
    return readFileSync(real, 'utf8').split('\n')[0]!;
  }
  tmpPath(p: string): string | undefined {
    if (!isAbsolute(p) || !normalize(p).startsWith('/tmp/')) return undefined;
    return this.opts.tmpRoot ? join(this.opts.tmpRoot, normalize(p)) : join(paths.tmp(this.dir), normalize(p).slice(5));
  }

  /** The argument string system.log/error.log record, with the HIDE position masked. */
  logArgs(): string {
    return this.args.map((a, i) => (i + 1 === this.hide ? `'******'` : `'${a}'`)).join(' ');
  }
}

/** format_domain: lower-case, strip a leading www. and edge dots. */
export function formatDomain(d: string): string {
  let v = d.toLowerCase();
  if (v.startsWith('www.')) v = v.slice(4);
  return v.replace(/^\.+|\.+$/g, '');
}

export function objFrom(pairs: [string, string][]): Obj { return new Map(pairs); }
