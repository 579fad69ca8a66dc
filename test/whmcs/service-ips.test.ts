// A VM's addresses written back to its WHMCS service through the External API (UpdateClientProduct):
// dedicatedip is the first IPv4 (else the first IPv6), assignedips every address one per line; a
// release clears both; without the API configured nothing is written and the caller is told so.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { createWhmcsTables, startWhmcsStandin, type WhmcsStandin } from '../helpers/whmcs.ts';
import { TEST_MASTER_KEY } from '../helpers/daemon.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { serviceIpFields, writeServiceIps } from '../../daemon/whmcs/service-ips.ts';

const KEY = Buffer.from(TEST_MASTER_KEY, 'hex');
const CREDS = { identifier: 'hbIdentifier0123', secret: 'hbApiSecret-9876543210' };

describe('a VM\'s addresses in its WHMCS service (MariaDB, WHMCS schema)', () => {
  let t: TestDb;
  let whmcs: WhmcsStandin;
  const row = async () => t.db('tblhosting').where('id', 4242).first('dedicatedip', 'assignedips');

  before(async () => {
    t = await createTestDb('mysql');
    await createWhmcsTables(t.db);
    await t.db('tblhosting').insert({ id: 4242, userid: 7, packageid: 1, server: 1, regdate: '2026-12-06', domain: 'vm1.example.org', username: '', password: '' });
    whmcs = await startWhmcsStandin(t.db, CREDS);
  });
  after(async () => {
    await whmcs?.stop();
    await t?.drop();
  });

  test('the fields: IPv4 first, one address per line', () => {
    assert.deepEqual(serviceIpFields([{ ip: '2001:db8::2', family: 6 }, { ip: '198.51.100.2', family: 4 }, { ip: '198.51.100.3', family: 4 }]),
      { dedicatedip: '198.51.100.2', assignedips: '198.51.100.2\n198.51.100.3\n2001:db8::2' });
    assert.deepEqual(serviceIpFields([{ ip: '2001:db8::2', family: 6 }]), { dedicatedip: '2001:db8::2', assignedips: '2001:db8::2' });
    assert.deepEqual(serviceIpFields([]), { dedicatedip: '', assignedips: '' });
  });

  test('without the WHMCS API configured nothing is written, and the caller is told', async () => {
    assert.equal(await writeServiceIps(t.db, KEY, 4242, { dedicatedip: '198.51.100.2', assignedips: '198.51.100.2' }), false);
    assert.deepEqual(await row(), { dedicatedip: '', assignedips: '' });
    assert.equal(whmcs.calls.length, 0);
  });

  test('configured: UpdateClientProduct writes both fields, a release clears them, the secret stays out of the call log', async () => {
    await writeSetting(t.db, 'whmcs.api_url', whmcs.url);
    await writeSetting(t.db, 'whmcs.api_identifier', CREDS.identifier);
    await writeSetting(t.db, 'whmcs.api_secret', CREDS.secret, KEY);
    assert.equal(await writeServiceIps(t.db, KEY, 4242, { dedicatedip: '198.51.100.2', assignedips: '198.51.100.2\n2001:db8:100::2' }), true);
    assert.deepEqual(await row(), { dedicatedip: '198.51.100.2', assignedips: '198.51.100.2\n2001:db8:100::2' });
    assert.equal(await writeServiceIps(t.db, KEY, 4242, { dedicatedip: '', assignedips: '' }), true);
    assert.deepEqual(await row(), { dedicatedip: '', assignedips: '' });
    assert.deepEqual(whmcs.calls.map((c) => c.action), ['UpdateClientProduct', 'UpdateClientProduct']);
    assert.ok(!JSON.stringify(whmcs.calls).includes(CREDS.secret));
    // A service WHMCS does not have is WHMCS's refusal, not a silent success.
    await assert.rejects(writeServiceIps(t.db, KEY, 9999, { dedicatedip: '198.51.100.9', assignedips: '' }), /Service ID Not Found/);
  });
});
