// DNS zones and records on a HestiaCP node (bind9), as data/users/<u>/dns.conf and dns/<d>.conf.
import { chmodSync, copyFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { parseLine, type Obj } from '../conf.ts';
import { E, fail, HestiaExit } from '../errors.ts';
import { paths } from '../node.ts';
import { columnT, jsonObjects, pick, plainRows } from '../output.ts';
import * as v from '../validate.ts';
import { type Ctx, formatDomain, objFrom } from './ctx.ts';
import { isBaseDomainOwner, isDomainNew, notAnIp } from './domains.ts';
import type { Command } from './types.ts';

const ZONE_KEYS = ['IP', 'TPL', 'TTL', 'EXP', 'SOA', 'SERIAL', 'DNSSEC', 'SRC', 'RECORDS', 'SUSPENDED', 'TIME', 'DATE'];
const RECORD_KEYS = ['RECORD', 'TYPE', 'PRIORITY', 'VALUE', 'ID', 'SUSPENDED', 'TIME', 'DATE', 'TTL'];
const FQDN_TYPES = /^NS|CNAME|MX|PTR|SRV/; // bash `=~ ^NS|CNAME|MX|PTR|SRV`, precedence and all

function sortById(objs: Obj[]): Obj[] { return [...objs].sort((a, b) => Number(a.get('ID')) - Number(b.get('ID'))); }

/** update_domain_serial: +1 per change (the emulator keeps it in dns.conf only; no zone .db file). */
export function bumpSerial(c: Ctx, user: string, domain: string): void {
  const z = c.find(user, 'dns', 'DOMAIN', domain);
  let serial = Number(z?.get('SERIAL') || 3000000000) + 1;
  if (serial > 4294967295) serial = 1;
  c.updateObject(user, 'dns', 'DOMAIN', domain, {
    SERIAL: String(serial).padStart(10, '0'), RECORDS: String(c.objects(user, `dns/${domain}`).length),
  });
}

/** v-add-dns-record's value normalisation, done before any check in the script. */
function normalise(type: string, value: string, priority: string): { value: string; priority: string } {
  let p = priority === '' ? '10' : priority;
  if (type !== 'MX' && type !== 'SRV') p = '';
  let val = value;
  if (FQDN_TYPES.test(type) && !val.endsWith('.')) val += '.';
  if (type !== 'CAA') {
    val = val.replace(/"/g, '');
    if (!['SRV', 'DNSKEY', 'DS', 'TLSA', 'KEY', 'IPSECKEY'].includes(type) && /[;\s]/.test(val)) val = `"${val}"`;
  }
  return { value: val, priority: p };
}

/** is_dns_fqnd: NS/SRV values need ≥3 dots, CNAME/MX/PTR ≥2 (the trailing one included). */
function isFqdn(type: string, value: string): void {
  if (type === 'SRV') { const f = value.split(/\s+/); if (f[0] === '.' || f[f.length - 1] === '.') return; }
  if (!FQDN_TYPES.test(type)) return;
  const need = ['CNAME', 'MX', 'PTR'].includes(type) ? 2 : 3;
  if ((value.match(/\./g) ?? []).length < need) {
    throw new HestiaExit(E.INVALID, `Error: ${type} record ${value.replace(/\.$/, '')} should be a fully qualified domain name (FQDN)\n`);
  }
}

/** is_dns_nameserver_valid: an in-zone NS target needs an A record. */
function nsTarget(c: Ctx, user: string, domain: string, type: string, value: string): void {
  if (type !== 'NS' || !value.endsWith(`.${domain}.`)) return;
  const name = value.slice(0, -(domain.length + 2));
  if (!c.objects(user, `dns/${domain}`).some((r) => r.get('RECORD') === name && r.get('TYPE') === 'A')) {
    fail(E.NOTEXIST, `IN A ${name}.${domain} does not exist`);
  }
}

export interface NewRecord { record: string; type: string; value: string; priority?: string; id?: string; ttl?: string }

/** The checks and effects of v-add-dns-record after its arguments are normalised. */
export function addRecord(c: Ctx, user: string, domain: string, r: NewRecord): string {
  const record = r.record.toLowerCase(); const type = r.type.toUpperCase();
  const { value, priority } = normalise(type, r.value, r.priority ?? '');
  if (record === '@' && type === 'CNAME') fail(E.INVALID, 'CNAME on root is not allowed');
  return insertRecord(c, user, domain, { record, type, value, priority, id: r.id ?? '', ttl: r.ttl ?? '' });
}

function insertRecord(c: Ctx, user: string, domain: string, r: Required<NewRecord>): string {
  if (user) v.user(user); if (domain) v.domain(domain); if (r.record) v.common(r.record, 'record');
  if (r.type) v.rtype(r.type);
  ({ value: r.value, priority: r.priority } = v.dvalue(r.value, r.type, r.priority));
  c.systemEnabled('DNS_SYSTEM');
  c.userValid(user); c.userUnsuspended(user);
  c.objectValid(user, 'dns', 'DOMAIN', domain); c.objectUnsuspended(user, 'dns', 'DOMAIN', domain);
  const recs = c.objects(user, `dns/${domain}`);
  c.packageFull(user, 'DNS_RECORDS', recs.length);
  const id = r.id || String(Math.max(0, ...recs.map((x) => Number(x.get('ID')))) + 1);
  v.id(id);
  if (recs.some((x) => x.get('ID') === id)) fail(E.EXISTS, `ID=${id} already exists`);
  isFqdn(r.type, r.value);
  nsTarget(c, user, domain, r.type, r.value);
  if (r.ttl) v.int(r.ttl, 'ttl');
  c.demoMode();
  const line = objFrom([['ID', id], ['RECORD', r.record], ['TYPE', r.type], ['PRIORITY', r.priority],
    ['VALUE', r.value.replace(/'/g, '%quote%')], ['SUSPENDED', 'no'], ['TIME', c.stamp.time], ['DATE', c.stamp.date]]);
  if (r.ttl) line.set('TTL', r.ttl);
  c.writeObjects(user, `dns/${domain}`, sortById([...recs, line]));
  bumpSerial(c, user, domain);
  c.bump(user, 'U_DNS_RECORDS', 1);
  return id;
}

const addDnsRecord: Command = {
  logs: true,
  run(c) {
    const type = c.arg(4).toUpperCase();
    const { value, priority } = normalise(type, c.arg(5), c.arg(6));
    // The root-CNAME check runs before check_args in the script.
    if (c.arg(3).toLowerCase() === '@' && type === 'CNAME') fail(E.INVALID, 'CNAME on root is not allowed');
    c.checkArgs(5, 'USER DOMAIN RECORD TYPE VALUE [PRIORITY] [ID] [RESTART] [TTL]');
    if (c.arg(8)) v.restart(c.arg(8));
    insertRecord(c, c.arg(1), formatDomain(c.arg(2)), { record: c.arg(3).toLowerCase(), type, value, priority, id: c.arg(7), ttl: c.arg(9) });
    return '';
  },
};

const addDnsDomain: Command = {
  logs: true,
  run(c) {
    const user = c.arg(1); const domain = formatDomain(c.arg(2)); const ip = c.arg(3);
    c.checkArgs(3, 'USER DOMAIN IP [NS1] [NS2] [NS3] [..] [NS8] [RESTART]');
    if (user) v.user(user); if (domain) v.domain(domain); if (ip) v.ip(ip);
    c.systemEnabled('DNS_SYSTEM');
    c.userValid(user); c.userUnsuspended(user);
    if (c.arg(12)) v.restart(c.arg(12));
    isDomainNew(c, 'dns', user, [domain]);
    notAnIp(domain);
    if (c.arg(13)) v.bool(c.arg(13), 'dnssec');
    c.packageFull(user, 'DNS_DOMAINS', c.objects(user, 'dns').length);
    const tpl = c.userValue(user, 'DNS_TEMPLATE');
    if (!existsSync(paths.template(c.dir, 'dns', tpl))) fail(E.NOTEXIST, `${tpl} dns template doesn't exist`);
    isBaseDomainOwner(c, user, [domain]);
    const ns = [4, 5, 6, 7, 8, 9, 10, 11].map((n) => c.arg(n).replace(/^\.+|\.+$/g, ''));
    ns.forEach((n, i) => { if (n) v.domain(n, `ns${i + 1}`); });
    c.demoMode();
    if (!ns[1]) {
      const fromPkg = c.userValue(user, 'NS').split(',').filter(Boolean);
      fromPkg.forEach((n, i) => { if (i < 8) ns[i] = n; });
    }
    const exp = new Date(); exp.setFullYear(exp.getFullYear() + 1);
    const p2 = (n: number) => String(n).padStart(2, '0');
    const expStr = `${exp.getFullYear()}-${p2(exp.getMonth() + 1)}-${p2(exp.getDate())}`;
    const records = readFileSync(paths.template(c.dir, 'dns', tpl), 'utf8').split('\n').filter((l) => l.trim())
      .filter((l) => !ns.some((n, i) => !n && l.includes(`%ns${i + 1}%`)))
      .map((l) => {
        let s = l.replace(/%ip%/g, ip).replace(/%domain_idn%/g, domain).replace(/%domain%/g, domain)
          .replace(/%time%/g, c.stamp.time).replace(/%date%/g, c.stamp.date);
        ns.forEach((n, i) => { s = s.replace(new RegExp(`%ns${i + 1}%`, 'g'), n); });
        return parseLine(s);
      });
    writeFileSync(c.file(user, `dns/${domain}`), '');
    c.writeObjects(user, `dns/${domain}`, records);
    c.writeObjects(user, 'dns', [...c.objects(user, 'dns'), objFrom([
      ['DOMAIN', domain], ['IP', ip], ['TPL', tpl], ['TTL', '14400'], ['EXP', expStr], ['SOA', ns[0] ?? ''], ['SERIAL', '3000000000'],
      ['SRC', ''], ['RECORDS', String(records.length)], ['DNSSEC', c.arg(13) === 'yes' ? 'yes' : ''], ['KEY', ''], ['SLAVE', 'no'],
      ['MASTER', ''], ['SUSPENDED', 'no'], ['TIME', c.stamp.time], ['DATE', c.stamp.date],
    ])]);
    c.bump(user, 'U_DNS_DOMAINS', 1);
    c.bump(user, 'U_DNS_RECORDS', records.length);
    return '';
  },
};

const deleteDnsDomain: Command = {
  logs: true,
  run(c) {
    c.checkArgs(2, 'USER DOMAIN [RESTART]');
    const user = c.arg(1); const domain = formatDomain(c.arg(2));
    if (user) v.user(user); if (domain) v.domain(domain); if (c.arg(3)) v.restart(c.arg(3));
    c.systemEnabled('DNS_SYSTEM');
    c.userValid(user);
    const z = c.objectValid(user, 'dns', 'DOMAIN', domain);
    c.demoMode();
    const n = c.objects(user, `dns/${domain}`).length;
    c.writeObjects(user, 'dns', c.objects(user, 'dns').filter((o) => o.get('DOMAIN') !== domain));
    rmSync(c.file(user, `dns/${domain}`), { force: true });
    c.bump(user, 'U_DNS_DOMAINS', -1);
    c.bump(user, 'U_DNS_RECORDS', -n);
    if (z.get('SUSPENDED') === 'yes') c.bump(user, 'SUSPENDED_DNS', -1);
    return '';
  },
};

const deleteDnsRecord: Command = {
  logs: true,
  run(c) {
    c.checkArgs(3, 'USER DOMAIN ID [RESTART]');
    const user = c.arg(1); const domain = formatDomain(c.arg(2)); const id = c.arg(3);
    if (user) v.user(user); if (domain) v.domain(domain); if (id) v.id(id); if (c.arg(4)) v.restart(c.arg(4));
    c.userValid(user);
    c.objectValid(user, 'dns', 'DOMAIN', domain);
    const rec = c.objectValid(user, `dns/${domain}`, 'ID', id);
    // is_dns_record_critical: the zone's last A or last NS record stays, whatever its name or state
    // (the script counts every TYPE='A' line of the zone).
    const type = rec.get('TYPE') ?? '';
    if ((type === 'A' || type === 'NS') && c.objects(user, `dns/${domain}`).filter((r) => r.get('TYPE') === type).length <= 1) {
      fail(E.INVALID, `at least one ${type} record should remain active`);
    }
    c.demoMode();
    c.writeObjects(user, `dns/${domain}`, c.objects(user, `dns/${domain}`).filter((r) => r.get('ID') !== id));
    bumpSerial(c, user, domain);
    c.bump(user, 'U_DNS_RECORDS', -1);
    return '';
  },
};

const changeDnsRecord: Command = {
  logs: true,
  run(c) {
    c.checkArgs(6, 'USER DOMAIN ID RECORD TYPE VALUE [PRIORITY] [RESTART] [TTL]');
    const user = c.arg(1); const domain = formatDomain(c.arg(2)); const id = c.arg(3);
    const record = c.arg(4).toLowerCase(); const type = c.arg(5).toUpperCase();
    if (user) v.user(user); if (domain) v.domain(domain); if (id) v.id(id); if (record) v.common(record, 'record');
    if (c.arg(8)) v.restart(c.arg(8));
    c.systemEnabled('DNS_SYSTEM');
    c.userValid(user); c.userUnsuspended(user);
    c.objectValid(user, 'dns', 'DOMAIN', domain); c.objectUnsuspended(user, 'dns', 'DOMAIN', domain);
    const old = c.objectValid(user, `dns/${domain}`, 'ID', id);
    if (c.arg(9)) v.int(c.arg(9), 'ttl');
    if (record === '@' && type === 'CNAME') fail(E.INVALID, 'CNAME on root is not allowed');
    let { value, priority } = normalise(type, c.arg(6), c.arg(7));
    v.rtype(type);
    ({ value, priority } = v.dvalue(value, type, priority));
    isFqdn(type, value);
    nsTarget(c, user, domain, type, value);
    c.demoMode();
    const canon = value.replace(/'/g, '%quote%');
    const ttl = c.arg(9) || old.get('TTL') || '';
    if (old.get('RECORD') === record && old.get('TYPE') === type && old.get('VALUE') === canon &&
      (old.get('PRIORITY') ?? '') === priority && (old.get('TTL') ?? '') === ttl) return '';
    const recs = c.objects(user, `dns/${domain}`).map((r) => {
      if (r.get('ID') !== id) return r;
      const n = objFrom([['ID', id], ['RECORD', record], ['TYPE', type], ['PRIORITY', priority], ['VALUE', canon],
        ['SUSPENDED', r.get('SUSPENDED') ?? 'no'], ['TIME', c.stamp.time], ['DATE', c.stamp.date]]);
      if (ttl) n.set('TTL', ttl);
      return n;
    });
    c.writeObjects(user, `dns/${domain}`, sortById(recs));
    bumpSerial(c, user, domain);
    return '';
  },
};

function suspendRecord(flag: 'yes' | 'no'): Command {
  return {
    logs: true,
    run(c) {
      c.checkArgs(3, 'USER DOMAIN ID [RESTART]');
      const user = c.arg(1); const domain = formatDomain(c.arg(2)); const id = c.arg(3);
      if (user) v.user(user); if (domain) v.domain(domain); if (id) v.id(id); if (c.arg(4)) v.restart(c.arg(4));
      c.systemEnabled('DNS_SYSTEM');
      c.userValid(user);
      c.objectValid(user, 'dns', 'DOMAIN', domain); c.objectUnsuspended(user, 'dns', 'DOMAIN', domain);
      c.objectValid(user, `dns/${domain}`, 'ID', id);
      if (flag === 'yes') c.objectUnsuspended(user, `dns/${domain}`, 'ID', id);
      else c.objectSuspended(user, `dns/${domain}`, 'ID', id);
      c.demoMode();
      c.updateObject(user, `dns/${domain}`, 'ID', id, { SUSPENDED: flag });
      bumpSerial(c, user, domain);
      return '';
    },
  };
}

/**
 * v-suspend-dns-domain USER DOMAIN [RESTART] / v-unsuspend-dns-domain USER DOMAIN: the zone and
 * every one of its records (a sed over dns/<d>.conf), SUSPENDED_DNS ±1, no serial change. The
 * unsuspend script checks demo mode before anything else.
 */
function suspendZone(flag: 'yes' | 'no'): Command {
  return {
    logs: true,
    run(c) {
      if (flag === 'no') c.demoMode();
      c.checkArgs(2, flag === 'yes' ? 'USER DOMAIN [RESTART]' : 'USER DOMAIN');
      const user = c.arg(1); const domain = formatDomain(c.arg(2));
      if (user) v.user(user); if (domain) v.domain(domain); if (flag === 'yes' && c.arg(3)) v.restart(c.arg(3));
      c.systemEnabled('DNS_SYSTEM');
      c.userValid(user);
      c.objectValid(user, 'dns', 'DOMAIN', domain);
      if (flag === 'yes') c.objectUnsuspended(user, 'dns', 'DOMAIN', domain);
      else c.objectSuspended(user, 'dns', 'DOMAIN', domain);
      if (flag === 'yes') c.demoMode();
      c.updateObject(user, 'dns', 'DOMAIN', domain, { SUSPENDED: flag });
      const recs = c.objects(user, `dns/${domain}`);
      recs.forEach((r) => r.set('SUSPENDED', flag));
      c.writeObjects(user, `dns/${domain}`, recs);
      c.bump(user, 'SUSPENDED_DNS', flag === 'yes' ? 1 : -1);
      return '';
    },
  };
}

/**
 * v-insert-dns-records USER DOMAIN DATA_FILE: `mv -f` of the file over dns/<d>.conf, chmod 660.
 * No format check on DATA_FILE and none on its lines, no format_domain, no serial, BIND file,
 * counters or RESTART (the usage line's [RESTART] is not read); a file that is not there is
 * silently ignored (exit 0). Only files under /tmp are reachable on an emulated node.
 */
const insertDnsRecords: Command = {
  logs: true,
  run(c) {
    c.checkArgs(3, 'USER DOMAIN DATAFILE [RESTART]');
    const user = c.arg(1); const domain = c.arg(2);
    if (user) v.user(user); if (domain) v.domain(domain);
    c.systemEnabled('DNS_SYSTEM');
    c.userValid(user); c.userUnsuspended(user);
    c.objectValid(user, 'dns', 'DOMAIN', domain);
    c.demoMode();
    const src = c.tmpPath(c.arg(3));
    if (src && existsSync(src)) {
      const to = c.file(user, `dns/${domain}`);
      try {
        renameSync(src, to);
      } catch (err) {
        // mv across file systems (the real /tmp under real sshd): copy, then remove.
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        copyFileSync(src, to);
        rmSync(src, { force: true });
      }
      chmodSync(c.file(user, `dns/${domain}`), 0o660);
    }
    return '';
  },
};

const listDnsDomains: Command = {
  run(c) {
    c.checkArgs(1, 'USER [FORMAT]');
    const user = c.arg(1); const format = c.args.length >= 2 ? c.arg(2) : 'shell';
    if (user) v.user(user);
    c.userValid(user);
    const objs = c.objects(user, 'dns');
    switch (format) {
      case 'json': return jsonObjects(objs.map((o) => [o.get('DOMAIN') ?? '', pick(o, ZONE_KEYS)]));
      case 'plain': return plainRows(objs.map((o) => [o.get('DOMAIN') ?? '', ...pick(o, ZONE_KEYS).map(([, x]) => x)]));
      case 'shell': return columnT(['DOMAIN   IP   TPL   TTL   DNSSEC   REC   SPND   DATE', '------   --   ---   ---   ------   ---   ----   ----',
        ...objs.map((o) => ['DOMAIN', 'IP', 'TPL', 'TTL', 'DNSSEC', 'RECORDS', 'SUSPENDED', 'DATE'].map((k) => o.get(k) || (k === 'DNSSEC' ? 'no' : '')).join(' '))]);
      default: return '';
    }
  },
};

const listDnsRecords: Command = {
  run(c) {
    c.checkArgs(2, 'USER DOMAIN [FORMAT]');
    const user = c.arg(1); const domain = formatDomain(c.arg(2)); const format = c.args.length >= 3 ? c.arg(3) : 'shell';
    if (user) v.user(user); if (domain) v.domain(domain);
    c.userValid(user);
    const zone = c.objectValid(user, 'dns', 'DOMAIN', domain);
    const zttl = zone.get('TTL') ?? '';
    const objs = c.objects(user, `dns/${domain}`);
    const ttl = (o: Obj) => o.get('TTL') || zttl;
    switch (format) {
      case 'json': return jsonObjects(objs.map((o) => [o.get('ID') ?? '', pick(o, RECORD_KEYS, {
        // The only listing that escapes: `"` → `\"`, %quote% → '.
        VALUE: (o.get('VALUE') ?? '').replace(/"/g, '\\"').replace(/%quote%/g, "'"), TTL: ttl(o),
      })]));
      case 'plain': return plainRows(objs.map((o) => ['ID', 'RECORD', 'TYPE', 'PRIORITY', 'VALUE', 'SUSPENDED', 'TIME', 'DATE']
        .map((k) => (k === 'VALUE' ? (o.get(k) ?? '').replace(/%quote%/g, "'") : o.get(k) ?? '')).concat(ttl(o))));
      case 'shell': return columnT(['ID^RECORD^TYPE^VALUE^DATE^TTL', '--^------^----^-----^----^----',
        ...objs.map((o) => [o.get('ID'), o.get('RECORD'), o.get('TYPE'), (o.get('VALUE') ?? '').slice(0, 30), o.get('DATE'), ttl(o)].join('^'))], '^');
      default: return '';
    }
  },
};

export const dnsCommands: Record<string, Command> = {
  'v-add-dns-domain': addDnsDomain, 'v-delete-dns-domain': deleteDnsDomain, 'v-list-dns-domains': listDnsDomains,
  'v-add-dns-record': addDnsRecord, 'v-delete-dns-record': deleteDnsRecord, 'v-insert-dns-records': insertDnsRecords, 'v-change-dns-record': changeDnsRecord,
  'v-suspend-dns-domain': suspendZone('yes'), 'v-unsuspend-dns-domain': suspendZone('no'),
  'v-suspend-dns-record': suspendRecord('yes'), 'v-unsuspend-dns-record': suspendRecord('no'), 'v-list-dns-records': listDnsRecords,
};
