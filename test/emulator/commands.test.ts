// Command semantics from the HestiaCP reference: exit codes, messages, state and output shapes.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freshNode } from './hestia/testing.ts';
import { hashFiles, readNode, runHestia, snapshot, userFiles } from './hestia/index.ts';
import { parseCpuStatus, parseDiskStatus, parseMemoryStatus } from '../../daemon/drivers/hestia/sys-status.ts';

test('too few arguments → 1 with Usage on stdout, logged to error.log', () => {
  const { dir, run } = freshNode();
  const r = run('v-add-user', 'alice', 'pw');
  assert.equal(r.code, 1);
  assert.equal(r.stdout, 'Usage: v-add-user USER PASSWORD EMAIL [PACKAGE] [NAME] \n');
  assert.match(readFileSync(join(dir, 'log/error.log'), 'utf8'), /v-add-user  'alice' '\*\*\*\*\*\*' \[Error 1\]/);
});

test('invalid formats → 2 with "invalid <name> format"', () => {
  const { run } = freshNode();
  assert.deepEqual(run('v-add-user', '-rf', 'pw', 'a@x.org'), { code: 2, stdout: 'Error: invalid user format :: -rf\n', stderr: '' });
  assert.equal(run('v-add-user', 'a'.repeat(31), 'pw', 'a@x.org').code, 2);
  assert.equal(run('v-add-user', 'al.ice', 'pw', 'a@x.org').code, 2, 'new users may not contain a dot');
  assert.equal(run('v-add-user', 'bob', 'pw', 'not-an-email').stdout, 'Error: invalid email format :: not-an-email\n');
  assert.equal(run('v-add-user', 'bob', 'pw', 'b@x.org').code, 0);
  assert.equal(run('v-add-web-domain', 'bob', 'x.org;id').stdout, 'Error: invalid domain format :: x.org;id\n');
  assert.equal(run('v-add-web-domain', 'bob', '$(id).org').code, 2);
  assert.equal(run('v-add-dns-domain', 'bob', 'x.org', '999.1.1.1').stdout, 'Error: invalid ip :: 999.1.1.1\n');
  assert.equal(run('v-add-dns-domain', 'bob', 'x.org', '192.0.2.10').code, 0);
  assert.equal(run('v-add-dns-record', 'bob', 'x.org', 'a'.repeat(400), 'A', '192.0.2.1').code, 2, 'record names of 400+ chars');
  assert.equal(run('v-add-dns-record', 'bob', 'x.org', 'www', 'A', 'not-an-ip').code, 2);
});

test('reserved names → 2; existing → 4; missing → 3', () => {
  const { run } = freshNode();
  const r = run('v-add-user', 'MySQL', 'pw', 'a@x.org');
  assert.equal(r.code, 2);
  assert.match(r.stdout, /^Error: The user name 'MySQL' is reserved/);
  assert.equal(run('v-add-user', 'alice', 'pw', 'a@x.org').code, 0);
  assert.deepEqual(run('v-add-user', 'alice', 'pw', 'a@x.org'), { code: 4, stdout: 'Error: user alice exists\n', stderr: '' });
  assert.equal(run('v-add-user', 'www-data', 'pw', 'a@x.org').stdout, 'Error: user www-data exists\n', 'an OS account counts');
  assert.equal(run('v-add-user', 'carol', 'pw', 'c@x.org', 'gold').stdout, "Error: package gold doesn't exist\n");
  assert.equal(run('v-list-user', 'nobody').stdout, "Error: user nobody doesn't exist\n");
  assert.equal(run('v-delete-web-domain', 'alice', 'nope.org').stdout, "Error: web domain nope.org doesn't exist\n");
  assert.equal(run('v-add-web-domain', 'alice', 'x.org').code, 0);
  assert.deepEqual(run('v-add-web-domain', 'alice', 'x.org'), { code: 4, stdout: 'Error: Web domain x.org exists\n', stderr: '' });
  assert.equal(run('v-add-mail-domain', 'alice', 'x.org').code, 0);
  assert.equal(run('v-delete-mail-account', 'alice', 'x.org', 'bob').stdout, "Error: x.org account bob doesn't exist\n");
  assert.equal(run('v-add-mail-account', 'alice', 'x.org', 'bob', 'pw').code, 0);
  assert.equal(run('v-add-mail-account', 'alice', 'x.org', 'BOB', 'pw').stdout, 'Error: mail account bob already exists\n');
});

test('success is silent and logged with the password masked', () => {
  const { dir, run } = freshNode();
  assert.deepEqual(run('v-add-user', 'alice', 's3cret!', 'a@x.org', 'default', 'Alice', 'Smith'), { code: 0, stdout: '', stderr: '' });
  const log = readFileSync(join(dir, 'log/system.log'), 'utf8');
  assert.match(log, /v-add-user  'alice' '\*\*\*\*\*\*' 'a@x.org' 'default' 'Alice' 'Smith'\n$/);
  assert.doesNotMatch(log, /s3cret/);
  const st = readNode(dir);
  assert.equal(st.users.alice!.conf.NAME, 'Alice Smith');
  assert.equal(st.users.alice!.conf.CONTACT, 'a@x.org');
  assert.equal(st.users.admin!.counters.U_USERS, 2);
  assert.ok(st.passwd.includes('alice'));
});

test('suspension: 5 on suspended, unsuspend of an active user → 0, root user no-ops', () => {
  const { dir, run } = freshNode();
  run('v-add-user', 'alice', 'pw', 'a@x.org');
  run('v-add-web-domain', 'alice', 'x.org');
  assert.equal(run('v-suspend-user', 'alice').code, 0);
  assert.equal(readNode(dir).users.alice!.conf.SUSPENDED, 'yes');
  assert.equal(readNode(dir).users.alice!.web[0]!.SUSPENDED, 'yes');
  assert.equal(readNode(dir).users.admin!.counters.SUSPENDED_USERS, 1);
  assert.deepEqual(run('v-suspend-user', 'alice'), { code: 5, stdout: 'Error: user alice is suspended\n', stderr: '' });
  assert.equal(run('v-add-web-domain', 'alice', 'y.org').stdout, 'Error: user alice is suspended\n');
  assert.equal(run('v-unsuspend-user', 'alice').code, 0);
  assert.equal(run('v-unsuspend-user', 'alice').code, 0, 'no "is suspended" check');
  assert.equal(readNode(dir).users.admin!.counters.SUSPENDED_USERS, 0, 'floor 0');
  const before = snapshot(dir);
  assert.equal(run('v-delete-user', 'admin').code, 0);
  assert.equal(run('v-suspend-user', 'admin').code, 0);
  assert.deepEqual(snapshot(dir), before, 'root user operations change nothing');
  assert.equal(run('v-suspend-web-domain', 'alice', 'x.org').code, 0);
  assert.equal(run('v-suspend-web-domain', 'alice', 'x.org').stdout, 'Error: web x.org is suspended\n');
  assert.equal(run('v-unsuspend-web-domain', 'alice', 'x.org').code, 0);
  assert.equal(run('v-unsuspend-web-domain', 'alice', 'x.org').code, 6);
});

test('package limits → 8; packages from a TMPFILE; disabled roles → 11', () => {
  const { dir, run } = freshNode();
  const tmp = join(dir, 'tmp', 'pkg');
  writeFileSync(tmp, readFileSync(join(dir, 'data/packages/default.pkg'), 'utf8').replace("WEB_DOMAINS='unlimited'", "WEB_DOMAINS='1'").replace("MAIL_ACCOUNTS='unlimited'", "MAIL_ACCOUNTS='1'"));
  assert.equal(runHestia(dir, 'v-add-user-package', ['/tmp/pkg', 'small']).code, 0);
  assert.equal(run('v-add-user-package', '/tmp/pkg', 'small').stdout, 'Error: package small already exists.\n');
  assert.equal(run('v-add-user-package', '/tmp/missing', 'other').code, 3);
  const listed = JSON.parse(run('v-list-user-packages', 'json').stdout);
  assert.deepEqual(Object.keys(listed).sort(), ['default', 'small', 'system']);
  assert.equal(listed.small.WEB_DOMAINS, '1');
  run('v-add-user', 'alice', 'pw', 'a@x.org', 'small');
  assert.equal(run('v-add-web-domain', 'alice', 'x.org').code, 0);
  assert.deepEqual(run('v-add-web-domain', 'alice', 'y.org'), { code: 8, stdout: 'Error: WEB_DOMAINS limit is reached :: upgrade user package\n', stderr: '' });
  run('v-add-mail-domain', 'alice', 'x.org', 'no', 'no', 'no');
  assert.equal(run('v-add-mail-account', 'alice', 'x.org', 'a', 'pw').code, 0);
  assert.equal(run('v-add-mail-account', 'alice', 'x.org', 'b', 'pw').code, 8);
  assert.equal(run('v-change-user-package', 'alice', 'default').code, 0);
  assert.equal(run('v-add-web-domain', 'alice', 'y.org').code, 0);
  assert.equal(run('v-change-user-package', 'alice', 'small').stdout, "Error: Package doesn't cover WEB_DOMAIN usage\n");
  assert.equal(run('v-delete-user-package', 'small').code, 0);

  const dnsOnly = freshNode({ dns: true });
  dnsOnly.run('v-add-user', 'bob', 'pw', 'b@x.org');
  assert.deepEqual(dnsOnly.run('v-add-web-domain', 'bob', 'x.org'), { code: 11, stdout: 'Error: WEB_SYSTEM is not enabled\n', stderr: '' });
  assert.equal(dnsOnly.run('v-add-mail-domain', 'bob', 'x.org').stdout, 'Error: MAIL_SYSTEM is not enabled\n');
});

test('JSON listings: keyed by name, all values strings, empty is {\\n}', () => {
  const { run } = freshNode();
  run('v-add-user', 'alice', 'pw', 'a@x.org');
  assert.equal(run('v-list-web-domains', 'alice', 'json').stdout, '{\n}\n');
  run('v-add-web-domain', 'alice', 'X.org');
  const web = JSON.parse(run('v-list-web-domains', 'alice', 'json').stdout);
  assert.deepEqual(Object.keys(web), ['x.org']);
  assert.equal(web['x.org'].ALIAS, 'www.x.org');
  assert.equal(web['x.org'].DOCUMENT_ROOT, '/home/alice/web/x.org/public_html/');
  assert.equal(web['x.org'].U_DISK, '0');
  const users = JSON.parse(run('v-list-users', 'json').stdout);
  assert.deepEqual(Object.keys(users), ['admin', 'alice']);
  assert.equal(users.alice.U_WEB_DOMAINS, '1');
  for (const v of Object.values(users.alice)) assert.equal(typeof v, 'string');
  assert.equal(run('v-list-users', 'list').stdout, 'admin\nalice\n');
  assert.deepEqual(run('v-list-users', 'yaml'), { code: 0, stdout: '', stderr: '' });
  const one = JSON.parse(run('v-list-user', 'alice', 'json').stdout);
  assert.equal(one.alice.HOME, '/home/alice');
  assert.equal(one.alice.U_USERS, '2', 'U_USERS comes from the root user');
  // No escaping, as in Hestia: a quote in a value breaks the document.
  run('v-add-user', 'bob', 'pw', 'b@x.org', 'default', 'Bob');
  assert.equal(run('v-add-user', 'carl', 'pw', 'c@x.org', 'default', 'Carl "C"').code, 2, 'names with quotes are refused');
  const info = JSON.parse(run('v-list-sys-info', 'json').stdout);
  assert.equal(info.sysinfo.HOSTNAME, 'node1.example.net');
});

test('status commands print top/lscpu, free and df layouts with this host\'s figures', () => {
  const { dir, run } = freshNode();
  const cpu = parseCpuStatus(run('v-list-sys-cpu-status').stdout);
  assert.equal(cpu.cpus, os.cpus().length);
  assert.ok(cpu.busyPct !== null && cpu.busyPct >= 0 && cpu.busyPct <= 100);
  const mem = parseMemoryStatus(run('v-list-sys-memory-status').stdout)!;
  assert.equal(mem.totalMb, Math.floor(os.totalmem() / 1048576));
  assert.ok(mem.usedMb > 0 && mem.usedMb <= mem.totalMb);
  const disk = parseDiskStatus(run('v-list-sys-disk-status').stdout)!;
  const st = fs.statfsSync(dir);
  const used = (st.blocks - st.bfree) * st.bsize;
  // Other processes write to the same filesystem meanwhile: one point of slack.
  assert.ok(Math.abs(disk.usedPct - Math.ceil((used / (used + st.bavail * st.bsize)) * 100)) <= 1, `df said ${disk.usedPct}%`);
  assert.match(disk.size, /^\d+(\.\d)?[KMGTP]$/);
});

test('DNS: default template records with IDs, record add/change/delete rules', () => {
  const { dir, run } = freshNode();
  run('v-add-user', 'alice', 'pw', 'a@x.org');
  assert.equal(run('v-add-dns-domain', 'alice', 'x.org', '192.0.2.10', 'ns1.x.net', 'ns2.x.net').code, 0);
  const recs = JSON.parse(run('v-list-dns-records', 'alice', 'x.org', 'json').stdout);
  assert.deepEqual(Object.keys(recs), ['1', '2', '9', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19', '20', '21']);
  assert.deepEqual([recs['1'].TYPE, recs['1'].VALUE], ['NS', 'ns1.x.net.']);
  assert.equal(recs['14'].VALUE, 'mail.x.org.');
  assert.equal(recs['14'].PRIORITY, '0');
  assert.equal(recs['15'].VALUE, '"v=spf1 a mx ip4:192.0.2.10 -all"', 'quotes escaped in the JSON text, so it parses back');
  assert.equal(recs['9'].TTL, '14400');
  const zones = JSON.parse(runHestia(dir, 'v-list-dns-domains', ['alice', 'json']).stdout);
  assert.equal(zones['x.org'].RECORDS, '15');
  assert.equal(zones['x.org'].SERIAL, '3000000000');
  assert.equal(readNode(dir).users.alice!.counters.U_DNS_RECORDS, 15);

  assert.equal(run('v-add-dns-record', 'alice', 'x.org', 'Shop', 'cname', 'shops.example.com').code, 0);
  let st = readNode(dir).users.alice!.dns[0]!;
  const shop = st.records.find((r) => r.RECORD === 'shop')!;
  assert.deepEqual([shop.ID, shop.TYPE, shop.VALUE, shop.PRIORITY], ['22', 'CNAME', 'shops.example.com.', '']);
  assert.equal(st.zone.SERIAL, '3000000001');
  assert.equal(run('v-add-dns-record', 'alice', 'x.org', 'txt1', 'TXT', 'hello world; x', '', '42').code, 0);
  st = readNode(dir).users.alice!.dns[0]!;
  assert.equal(st.records.find((r) => r.ID === '42')!.VALUE, '"hello world; x"');
  assert.deepEqual(run('v-add-dns-record', 'alice', 'x.org', 'dup', 'A', '192.0.2.5', '', '42'), { code: 4, stdout: 'Error: ID=42 already exists\n', stderr: '' });
  assert.equal(run('v-add-dns-record', 'alice', 'x.org', '@', 'CNAME', 'x.net').stdout, 'Error: CNAME on root is not allowed\n');
  assert.equal(run('v-add-dns-record', 'alice', 'x.org', 'm', 'MX', 'localhost').stdout, 'Error: MX record localhost should be a fully qualified domain name (FQDN)\n');
  assert.equal(run('v-add-dns-record', 'alice', 'x.org', 'sub', 'NS', 'ns9.x.org').stdout, 'Error: IN A ns9.x.org does not exist\n');
  assert.equal(run('v-change-dns-record', 'alice', 'x.org', '42', 'txt1', 'TXT', 'changed').code, 0);
  assert.equal(readNode(dir).users.alice!.dns[0]!.records.find((r) => r.ID === '42')!.VALUE, 'changed');
  assert.equal(run('v-suspend-dns-record', 'alice', 'x.org', '42').code, 0);
  assert.equal(run('v-suspend-dns-record', 'alice', 'x.org', '42').stdout, 'Error: x.org 42 is suspended\n');
  assert.equal(run('v-unsuspend-dns-record', 'alice', 'x.org', '42').code, 0);
  // is_dns_record_critical counts every A of the zone, whatever its name: mail A may go, then @ A is the last.
  assert.equal(run('v-delete-dns-record', 'alice', 'x.org', '12').code, 0);
  assert.equal(run('v-delete-dns-record', 'alice', 'x.org', '9').stdout, 'Error: at least one A record should remain active\n');
  assert.equal(run('v-delete-dns-record', 'alice', 'x.org', '99').stdout, "Error: x.org id 99 doesn't exist\n");
  assert.equal(run('v-delete-dns-record', 'alice', 'x.org', '42').code, 0);
  assert.equal(readNode(dir).users.alice!.counters.U_DNS_RECORDS, 15);
  assert.equal(run('v-add-dns-domain', 'alice', 'x.org', '192.0.2.10').stdout, 'Error: DNS domain x.org exists\n');
  // The zone from package NS when NS2 is empty: 2 NS records from default.pkg.
  assert.equal(run('v-add-dns-domain', 'alice', 'y.org', '192.0.2.10').code, 0);
  const y = readNode(dir).users.alice!.dns[1]!;
  assert.deepEqual(y.records.filter((r) => r.TYPE === 'NS').map((r) => r.VALUE), ['ns1.domain.tld.', 'ns2.domain.tld.']);
  assert.equal(run('v-delete-dns-domain', 'alice', 'y.org').code, 0);
  assert.equal(readNode(dir).users.alice!.counters.U_DNS_DOMAINS, 1);
});

test('DNS: v-insert-dns-records moves a file over the zone\'s records, checks nothing in it, and rebuilds nothing', () => {
  const { dir, run } = freshNode();
  run('v-add-user', 'alice', 'pw', 'a@x.org');
  assert.equal(run('v-add-dns-domain', 'alice', 'x.org', '192.0.2.10', 'ns1.x.net', 'ns2.x.net', '', '', '', '', '', '', 'no').code, 0);
  const tmp = join(dir, 'tmp', 'hb-recs');
  const lines = "ID='1' RECORD='@' TYPE='NS' PRIORITY='' VALUE='ns1.x.net.' SUSPENDED='no' TIME='10:00:00' DATE='2026-12-06'\n" +
    "ID='2' RECORD='@' TYPE='TXT' PRIORITY='' VALUE='\"it%quote%s; here\"' SUSPENDED='no' TIME='10:00:00' DATE='2026-12-06' TTL='300'\n";
  writeFileSync(tmp, lines);
  // The script's checks, in its order: arguments, formats, DNS_SYSTEM, user, zone.
  assert.deepEqual(run('v-insert-dns-records', 'alice', 'x.org'), { code: 1, stdout: 'Usage: v-insert-dns-records USER DOMAIN DATAFILE [RESTART]\n', stderr: '' });
  assert.equal(run('v-insert-dns-records', 'alice', 'x.org;id', '/tmp/hb-recs').stdout, 'Error: invalid domain format :: x.org;id\n');
  assert.equal(run('v-insert-dns-records', 'bob', 'x.org', '/tmp/hb-recs').stdout, "Error: user bob doesn't exist\n");
  assert.equal(run('v-insert-dns-records', 'alice', 'y.org', '/tmp/hb-recs').stdout, "Error: dns domain y.org doesn't exist\n");
  assert.ok(fs.existsSync(tmp), 'a refused call leaves the file');
  assert.deepEqual(run('v-insert-dns-records', 'alice', 'x.org', '/tmp/hb-recs'), { code: 0, stdout: '', stderr: '' });
  assert.equal(fs.existsSync(tmp), false, 'the file was moved');
  const file = join(dir, 'data/users/alice/dns/x.org.conf');
  assert.equal(readFileSync(file, 'utf8'), lines, 'byte for byte');
  assert.equal(fs.statSync(file).mode & 0o777, 0o660);
  const recs = JSON.parse(run('v-list-dns-records', 'alice', 'x.org', 'json').stdout);
  assert.deepEqual(Object.keys(recs), ['1', '2']);
  assert.equal(recs['2'].VALUE, '"it\'s; here"', '%quote% listed as \' and the quotes kept');
  assert.equal(recs['2'].TTL, '300');
  // No serial, no record count, no user counter: the caller rebuilds.
  let st = readNode(dir).users.alice!;
  assert.equal(st.dns[0]!.zone.SERIAL, '3000000000');
  assert.equal(st.dns[0]!.zone.RECORDS, '15');
  assert.equal(st.counters.U_DNS_RECORDS, 15);
  assert.match(readFileSync(join(dir, 'log/system.log'), 'utf8'), /v-insert-dns-records  'alice' 'x\.org' '\/tmp\/hb-recs'\n$/);
  // A file that is not there: exit 0, nothing changed.
  assert.deepEqual(run('v-insert-dns-records', 'alice', 'x.org', '/tmp/hb-gone'), { code: 0, stdout: '', stderr: '' });
  assert.equal(readFileSync(file, 'utf8'), lines);
  // Then the counters and a checked add bring the bookkeeping back.
  assert.equal(run('v-update-user-counters', 'alice').code, 0);
  assert.equal(readNode(dir).users.alice!.counters.U_DNS_RECORDS, 2);
  assert.equal(run('v-add-dns-record', 'alice', 'x.org', '@', 'A', '192.0.2.10').code, 0);
  st = readNode(dir).users.alice!;
  assert.deepEqual([st.dns[0]!.zone.SERIAL, st.dns[0]!.zone.RECORDS, st.counters.U_DNS_RECORDS], ['3000000001', '3', 3]);
  assert.equal(readFileSync(join(dir, 'log/error.log'), 'utf8').split('\n').filter((l) => l.includes('v-insert-dns-records')).length, 4, 'the four refusals, logged');
});

test('DNS: reverse zones (in-addr.arpa, ip6.arpa) and PTR records, as the scripts take them', () => {
  const { dir, run } = freshNode();
  run('v-add-user', 'alice', 'pw', 'a@x.org');
  assert.equal(run('v-add-dns-domain', 'alice', '2.0.192.in-addr.arpa', '192.0.2.10', 'ns1.x.net', 'ns2.x.net').code, 0);
  assert.equal(run('v-add-dns-record', 'alice', '2.0.192.in-addr.arpa', '10', 'PTR', 'host.example.com').code, 0);
  const ptr = readNode(dir).users.alice!.dns[0]!.records.find((r) => r.RECORD === '10')!;
  assert.deepEqual([ptr.TYPE, ptr.VALUE, ptr.PRIORITY], ['PTR', 'host.example.com.', ''], 'a trailing dot added, no priority');
  // The validator's PTR rule is FILTER_VALIDATE_DOMAIN with FILTER_FLAG_HOSTNAME, then is_dns_fqnd (two dots).
  assert.equal(run('v-add-dns-record', 'alice', '2.0.192.in-addr.arpa', '11', 'PTR', 'bad_host.example.com').stdout, 'Error: invalid PTR record format :: bad_host.example.com.\n');
  assert.equal(run('v-add-dns-record', 'alice', '2.0.192.in-addr.arpa', '12', 'PTR', 'host-.example.com').code, 2);
  assert.equal(run('v-add-dns-record', 'alice', '2.0.192.in-addr.arpa', '13', 'PTR', 'localhost').stdout, 'Error: PTR record localhost should be a fully qualified domain name (FQDN)\n');
  assert.equal(run('v-add-dns-record', 'alice', '2.0.192.in-addr.arpa', '14', 'PTR', 'a.example.com\nb').stdout, 'Error: invalid value :: "a.example.com\nb."\n', 'wrapped in quotes first (it holds a space character), then refused');
  // A CNAME may hold "_" (no hostname flag), an NS may not.
  assert.equal(run('v-add-dns-record', 'alice', '2.0.192.in-addr.arpa', 'c', 'CNAME', '_x.example.com').code, 0);
  assert.equal(run('v-add-dns-record', 'alice', '2.0.192.in-addr.arpa', 'sub', 'NS', '_x.example.com').stdout, 'Error: invalid NS record format :: _x.example.com.\n');
  // An IPv6 nibble zone and a PTR named by the remaining nibbles.
  const z6 = '8.b.d.0.1.0.0.2.ip6.arpa';
  assert.equal(run('v-add-dns-domain', 'alice', z6, '192.0.2.10', 'ns1.x.net', 'ns2.x.net').code, 0);
  const name6 = '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0';
  assert.equal(run('v-add-dns-record', 'alice', z6, name6, 'PTR', 'v6.example.com.').code, 0);
  assert.ok(readNode(dir).users.alice!.dns[1]!.records.some((r) => r.RECORD === name6 && r.VALUE === 'v6.example.com.'));
  // An address is not a zone name (exit 1, a plain echo), however it is written.
  assert.equal(run('v-add-dns-domain', 'alice', '192.0.2.1', '192.0.2.10').stdout, 'Error: Invalid domain format. IP address detected as input.\n');
  assert.equal(run('v-add-dns-domain', 'alice', '999.0.2.1', '192.0.2.10').code, 0, 'not an address for PHP, so a name');
  // Values the validator refuses for other types.
  assert.equal(run('v-add-dns-record', 'alice', '2.0.192.in-addr.arpa', 'm', 'MX', 'mail.example.com', '70000').stdout, 'Error: invalid MX record priority format (must be between 0 and 65535) :: mail.example.com.\n');
  assert.equal(run('v-add-dns-record', 'alice', '2.0.192.in-addr.arpa', 'v6', 'AAAA', '2001:db8::zz').stdout, 'Error: invalid AAAA record format :: 2001:db8::zz\n');
  assert.equal(run('v-add-dns-record', 'alice', '2.0.192.in-addr.arpa', 'caa', 'CAA', '0 issue').stdout, 'Error: invalid CAA record format (expected flag tag value) :: 0 issue\n');
});

test('DNS: a whole zone suspended and unsuspended, every record with it', () => {
  const { dir, run } = freshNode();
  run('v-add-user', 'alice', 'pw', 'a@x.org');
  run('v-add-dns-domain', 'alice', 'x.org', '192.0.2.10', 'ns1.x.net', 'ns2.x.net');
  assert.equal(run('v-suspend-dns-record', 'alice', 'x.org', '10').code, 0);
  const serial = readNode(dir).users.alice!.dns[0]!.zone.SERIAL;
  assert.equal(run('v-suspend-dns-domain', 'alice', 'x.org').code, 0);
  let st = readNode(dir).users.alice!;
  assert.equal(st.dns[0]!.zone.SUSPENDED, 'yes');
  assert.ok(st.dns[0]!.records.every((r) => r.SUSPENDED === 'yes'));
  assert.equal(st.dns[0]!.zone.SERIAL, serial, 'no serial change');
  assert.equal(st.counters.SUSPENDED_DNS, 1);
  assert.deepEqual(run('v-suspend-dns-domain', 'alice', 'x.org'), { code: 5, stdout: 'Error: dns x.org is suspended\n', stderr: '' });
  assert.equal(run('v-add-dns-record', 'alice', 'x.org', 'new', 'A', '192.0.2.1').code, 5, 'records of a suspended zone cannot be added');
  assert.equal(run('v-unsuspend-dns-domain', 'alice', 'x.org').code, 0);
  st = readNode(dir).users.alice!;
  assert.ok(st.dns[0]!.records.every((r) => r.SUSPENDED === 'no'), 'the record suspended on its own is active again too');
  assert.equal(st.counters.SUSPENDED_DNS, 0);
  assert.deepEqual(run('v-unsuspend-dns-domain', 'alice', 'x.org'), { code: 6, stdout: 'Error: dns x.org is not suspended\n', stderr: '' });
  assert.equal(run('v-suspend-dns-domain', 'alice', 'nope.org').stdout, "Error: dns domain nope.org doesn't exist\n");
});

test('mail: DKIM key, its DNS record and listing; accounts; counters match v-update-user-counters', () => {
  const { dir, run } = freshNode();
  run('v-add-user', 'alice', 'pw', 'a@x.org');
  run('v-add-dns-domain', 'alice', 'x.org', '192.0.2.10');
  assert.equal(run('v-add-mail-domain', 'alice', 'x.org').code, 0);
  const dkim = run('v-list-mail-domain-dkim-dns', 'alice', 'x.org', 'json');
  const parsed = JSON.parse(dkim.stdout);
  assert.equal(parsed['mail._domainkey'].TTL, '3600');
  const m = /^'v=DKIM1; k=rsa; p=([A-Za-z0-9+/=]+)'$/.exec(parsed['mail._domainkey'].TXT);
  assert.ok(m, parsed['mail._domainkey'].TXT);
  const pem = readFileSync(join(dir, 'data/users/alice/mail/x.org.pem'), 'utf8');
  assert.match(pem, /BEGIN RSA PRIVATE KEY/);
  const txt = readNode(dir).users.alice!.dns[0]!.records.find((r) => r.RECORD === 'mail._domainkey')!;
  assert.equal(txt.VALUE, `"v=DKIM1; k=rsa; p=${m[1]}"`);
  const domains = JSON.parse(run('v-list-mail-domains', 'alice', 'json').stdout);
  assert.deepEqual([domains['x.org'].DKIM, domains['x.org'].ANTISPAM, domains['x.org'].ACCOUNTS], ['yes', 'no', '0']);
  assert.equal(run('v-add-mail-account', 'alice', 'x.org', 'Bob', '/tmp/none', '100').code, 0);
  const accts = JSON.parse(run('v-list-mail-accounts', 'alice', 'x.org', 'json').stdout);
  assert.deepEqual(Object.keys(accts), ['bob']);
  assert.equal(accts.bob.QUOTA, '100');
  assert.equal(run('v-change-mail-account-quota', 'alice', 'x.org', 'bob', '0').code, 0);
  assert.equal(readNode(dir).users.alice!.mail[0]!.accounts[0]!.QUOTA, 'unlimited');
  const md5 = readNode(dir).users.alice!.mail[0]!.accounts[0]!.MD5;
  assert.equal(run('v-change-mail-account-password', 'alice', 'x.org', 'bob', 'new').code, 0);
  assert.notEqual(readNode(dir).users.alice!.mail[0]!.accounts[0]!.MD5, md5);
  assert.equal(run('v-suspend-mail-account', 'alice', 'x.org', 'bob').code, 0);
  assert.equal(run('v-change-mail-account-password', 'alice', 'x.org', 'bob', 'x').stdout, 'Error: x.org bob is suspended\n');
  assert.equal(run('v-unsuspend-mail-account', 'alice', 'x.org', 'bob').code, 0);
  const counters = readNode(dir).users.alice!.counters;
  assert.equal(run('v-update-user-counters', 'alice').code, 0);
  assert.deepEqual(readNode(dir).users.alice!.counters, counters);
  // Deleting bob leaves the other user byte-for-byte unchanged.
  run('v-add-user', 'carol', 'pw', 'c@x.org');
  const carol = hashFiles(dir, userFiles(dir, 'carol'));
  assert.equal(run('v-delete-mail-account', 'alice', 'x.org', 'bob').code, 0);
  assert.equal(run('v-delete-mail-domain', 'alice', 'x.org').code, 0);
  assert.equal(readNode(dir).users.alice!.counters.U_MAIL_ACCOUNTS, 0);
  assert.deepEqual(hashFiles(dir, userFiles(dir, 'carol')), carol);
  assert.equal(run('v-delete-user', 'alice').code, 0);
  assert.equal(readNode(dir).users.alice, undefined);
  assert.equal(readNode(dir).users.admin!.counters.U_USERS, 2);
});

test('v-change-user-password reads stdin when PASSWORD is empty, and /tmp files', () => {
  const { dir, run } = freshNode();
  run('v-add-user', 'alice', 'old', 'a@x.org');
  const h0 = readNode(dir).users.alice!.conf.MD5;
  assert.equal(runHestia(dir, 'v-change-user-password', ['alice'], 'fromstdin\n').code, 0);
  const h1 = readNode(dir).users.alice!.conf.MD5;
  assert.notEqual(h1, h0);
  writeFileSync(join(dir, 'tmp', 'pw'), 'fromstdin\nsecond line\n');
  assert.equal(run('v-change-user-password', 'alice', '/tmp/pw').code, 0);
  assert.equal(readNode(dir).users.alice!.conf.MD5, h1, 'first line of the file is the password');
  assert.match(readFileSync(join(dir, 'log/system.log'), 'utf8'), /v-change-user-password  'alice' '\*\*\*\*\*\*'\n$/);
});

test('ENFORCE_SUBDOMAIN_OWNERSHIP=yes (the default): a name under another user\'s base domain → 4, logged', () => {
  const { dir, run } = freshNode();
  assert.match(readFileSync(join(dir, 'conf/hestia.conf'), 'utf8'), /^ENFORCE_SUBDOMAIN_OWNERSHIP='yes'$/m);
  for (const u of ['provider', 'cust']) assert.equal(run('v-add-user', u, 'pw', `${u}@x.org`).code, 0);
  assert.equal(run('v-add-mail-domain', 'provider', 'mysites.net').code, 0);
  assert.equal(run('v-add-dns-domain', 'provider', 'sites.example.net', '192.0.2.10').code, 0);
  const refused = run('v-add-web-domain', 'cust', 'alice.mysites.net');
  assert.deepEqual(refused, { code: 4, stdout: 'Error: Unable to add alice.mysites.net. mysites.net belongs to a different user\n', stderr: '' });
  assert.match(readFileSync(join(dir, 'log/error.log'), 'utf8'), /v-add-web-domain  'cust' 'alice\.mysites\.net' \[Error 4\]\n$/);
  // The base is one name (get_base_domain: two labels, three under a public suffix such as co.uk), not every ancestor.
  assert.equal(run('v-add-web-domain', 'cust', 'alice.sites.example.net').code, 0, 'base example.net belongs to nobody');
  assert.equal(run('v-add-mail-domain', 'provider', 'shop.co.uk').code, 0);
  assert.equal(run('v-add-dns-domain', 'cust', 'bob.shop.co.uk', '192.0.2.10').stdout, 'Error: Unable to add bob.shop.co.uk. shop.co.uk belongs to a different user\n');
  // The owner may add under its own base; `no` lifts the rule.
  assert.equal(run('v-add-web-domain', 'provider', 'carol.mysites.net').code, 0);
  const conf = readFileSync(join(dir, 'conf/hestia.conf'), 'utf8');
  writeFileSync(join(dir, 'conf/hestia.conf'), conf.replace("ENFORCE_SUBDOMAIN_OWNERSHIP='yes'", "ENFORCE_SUBDOMAIN_OWNERSHIP='no'"));
  assert.equal(run('v-add-web-domain', 'cust', 'alice.mysites.net').code, 0);
});
