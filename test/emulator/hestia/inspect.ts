// Read a node's state for test assertions, and fingerprint files to prove they did not change.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type Obj, readKeyFile, readObjects } from './conf.ts';
import { paths, readPasswd } from './node.ts';

const plain = (o: Obj): Record<string, string> => Object.fromEntries(o);

export interface NodeState {
  config: Record<string, string>;
  passwd: string[];
  packages: Record<string, Record<string, string>>;
  users: Record<string, {
    conf: Record<string, string>; package: string; suspended: boolean; counters: Record<string, number>;
    web: Record<string, string>[];
    mail: { domain: Record<string, string>; accounts: Record<string, string>[]; dkim: boolean }[];
    dns: { zone: Record<string, string>; records: Record<string, string>[] }[];
  }>;
}

export function readNode(dir: string): NodeState {
  const packages: NodeState['packages'] = {};
  for (const f of readdirSync(paths.packages(dir)).filter((f) => f.endsWith('.pkg'))) packages[f.slice(0, -4)] = plain(readKeyFile(join(paths.packages(dir), f)));
  const users: NodeState['users'] = {};
  const udir = paths.users(dir);
  for (const u of existsSync(udir) ? readdirSync(udir) : []) {
    if (!existsSync(paths.userConf(dir, u))) continue;
    const conf = plain(readKeyFile(paths.userConf(dir, u)));
    const f = (n: string) => paths.userFile(dir, u, n);
    users[u] = {
      conf, package: conf.PACKAGE ?? '', suspended: conf.SUSPENDED === 'yes',
      counters: Object.fromEntries(Object.entries(conf).filter(([k]) => k.startsWith('U_') || k.startsWith('SUSPENDED_')).map(([k, v]) => [k, Number(v)])),
      web: readObjects(f('web.conf')).map(plain),
      mail: readObjects(f('mail.conf')).map((d) => ({
        domain: plain(d), accounts: readObjects(f(`mail/${d.get('DOMAIN')}.conf`)).map(plain), dkim: existsSync(f(`mail/${d.get('DOMAIN')}.pem`)),
      })),
      dns: readObjects(f('dns.conf')).map((z) => ({ zone: plain(z), records: readObjects(f(`dns/${z.get('DOMAIN')}.conf`)).map(plain) })),
    };
  }
  return { config: plain(readKeyFile(paths.conf(dir))), passwd: readPasswd(dir).map((e) => e.name), packages, users };
}

/** sha256 of each file (relative to the node dir); a missing file hashes as null. */
export function hashFiles(dir: string, files: string[]): Record<string, string | null> {
  return Object.fromEntries(files.map((f) => {
    const p = join(dir, f);
    return [f, existsSync(p) ? createHash('sha256').update(readFileSync(p)).digest('hex') : null];
  }));
}

/** Hashes of every file under a sub-tree (default: data/), for before/after comparison. */
export function snapshot(dir: string, under = 'data'): Record<string, string | null> {
  const files: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d)) { const p = join(d, e); if (statSync(p).isDirectory()) walk(p); else files.push(relative(dir, p)); }
  };
  walk(join(dir, under));
  return hashFiles(dir, files.sort());
}

/** Files of one user's object, for hashFiles: e.g. userFiles('bob') → user.conf, web.conf, mail.conf, dns.conf … */
export function userFiles(dir: string, user: string): string[] {
  const base = paths.user(dir, user);
  return existsSync(base) ? Object.keys(snapshot(dir, relative(dir, base))) : [];
}
