// v-delete-mail-domain on the emulator as in HestiaCP's bin/ script: USER DOMAIN (no RESTART), 3
// for a domain that is not there; the domain's mailboxes and DKIM key go, its `_domainkey` records
// leave a zone the user holds on the node, its certificate goes (v-delete-mail-domain-ssl), and the
// counters match what v-update-user-counters finds.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { freshNode } from './hestia/testing.ts';
import { makeCa } from '../helpers/certs.ts';
import { readNode, runHestia, setAcme } from './hestia/index.ts';
import { paths } from './hestia/node.ts';

const IP = '192.0.2.10'; // freshNode's IP
const D = 'bob.example';

test('v-delete-mail-domain: mailboxes, DKIM record, certificate and counters; a second delete is 3', () => {
  const n = freshNode();
  setAcme(n.dir, { ca: (({ cert, key }) => ({ cert, key: key.pem }))(makeCa('emulated ACME CA')) });
  assert.equal(n.run('v-add-user', 'bob', 'pw-123456', 'bob@example.com', 'default').code, 0);
  assert.equal(n.run('v-add-web-domain', 'bob', D).code, 0);
  assert.equal(n.run('v-add-dns-domain', 'bob', D, IP).code, 0);
  assert.equal(n.run('v-add-mail-domain', 'bob', D).code, 0);
  assert.equal(n.run('v-add-mail-account', 'bob', D, 'info', 'Pw-123456').code, 0);
  const le = runHestia(n.dir, 'v-add-letsencrypt-domain', ['bob', D, '', 'yes'], '', { dns: { [`mail.${D}`]: [IP], [`webmail.${D}`]: [IP] } });
  assert.equal(le.code, 0, le.stdout);
  const before = readNode(n.dir).users.bob!;
  assert.ok(before.dns[0]!.records.some((r) => r.RECORD === 'mail._domainkey'), 'the DKIM record is in the local zone');
  assert.deepEqual([before.mail[0]!.domain.SSL, before.conf.U_MAIL_SSL], ['yes', '1']);

  assert.deepEqual(n.run('v-delete-mail-domain', 'bob'), { code: 1, stdout: 'Usage: v-delete-mail-domain USER DOMAIN\n', stderr: '' });
  assert.equal(n.run('v-delete-mail-domain', 'bob', D).code, 0);
  const after = readNode(n.dir).users.bob!;
  assert.deepEqual(after.mail, [], 'the mail domain and its mailbox are gone');
  assert.ok(!after.dns[0]!.records.some((r) => /_domainkey/.test(r.RECORD ?? '')), 'the DKIM record left the zone');
  assert.notEqual(after.dns[0]!.zone.SERIAL, before.dns[0]!.zone.SERIAL, 'the zone serial moved');
  for (const ext of ['crt', 'key', 'pem']) assert.ok(!existsSync(paths.userFile(n.dir, 'bob', `ssl/mail.${D}.${ext}`)), `mail certificate .${ext} removed`);
  assert.deepEqual(after.web.map((w) => w.DOMAIN), [D], 'the website stays');
  const counters = after.counters;
  assert.deepEqual([counters.U_MAIL_DOMAINS, counters.U_MAIL_ACCOUNTS, counters.U_MAIL_DKIM, counters.U_MAIL_SSL, counters.SUSPENDED_MAIL], [0, 0, 0, 0, 0]);
  assert.equal(n.run('v-update-user-counters', 'bob').code, 0);
  assert.deepEqual(readNode(n.dir).users.bob!.counters, counters, 'the counters are what v-update-user-counters finds');

  const again = n.run('v-delete-mail-domain', 'bob', D);
  assert.equal(again.code, 3);
  assert.match(again.stdout, /doesn't exist/);
});
