// The profile commands as an admin types them (hosting-plan, kvm-profile): a real CLI process on
// the default SQLite database of a fresh working directory, bodies on standard input.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { CLI, TSX } from '../helpers/daemon.ts';
import { tmpDir } from '../helpers/db.ts';

interface Run { code: number | null; stdout: string; stderr: string }

const dir = tmpDir('hb-cli-profiles-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], input?: string): Promise<Run> {
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (input !== undefined) child.stdin!.end(input);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`hostbridge ${args.join(' ')} did not finish in 30 s`)); }, 30_000);
    child.once('error', reject);
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}
const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;

before(async () => {
  const r = await cli(['migrate']);
  assert.equal(r.code, 0, show(r));
});

const plan = {
  name: 'web-pro',
  web: { domains: 3, aliases: 4, databases: 2, cron_jobs: 6, ftp_accounts: 2, bandwidth_mb: 10000, disk_mb: 4096, backups: 3 },
  dns: { records: 80 }, mail: { domains: 2, accounts: 10, disk_mb: 2048, backups: 2 },
};
const kvm = {
  name: 'vps-small', cluster_id: 2, cores: 2, memory_mb: 2048, default_os: 'debian-12', os_templates: ['debian-12'],
  system_disk: { size_gb: 20, storage: 'local-lvm' }, network: { bridge: 'vmbr0' },
};

describe('hostbridge hosting-plan', () => {
  test('an empty list says so; not JSON is a usage error that stores nothing', async () => {
    const empty = await cli(['hosting-plan', 'list']);
    assert.equal(empty.code, 0, show(empty));
    assert.equal(empty.stdout.trim(), 'no hosting plans yet');
    const bad = await cli(['hosting-plan', 'add'], '{"name": "web-pro",');
    assert.equal(bad.code, 2, show(bad));
    assert.match(bad.stderr, /hosting-plan add reads a JSON object on standard input; that was not JSON/);
    assert.equal((await cli(['hosting-plan', 'list'])).stdout.trim(), 'no hosting plans yet');
  });

  test('add, list, show, set a field, delete; a missing id is named', async () => {
    const added = await cli(['hosting-plan', 'add'], JSON.stringify(plan));
    assert.equal(added.code, 0, show(added));
    const id = Number(/hosting plan (\d+) added/.exec(added.stdout)?.[1]);
    assert.ok(id > 0, show(added));

    const list = await cli(['hosting-plan', 'list']);
    assert.equal(list.stdout.trim().split('\n').length, 1, show(list));
    assert.equal(JSON.parse(list.stdout).name, 'web-pro');

    const set = await cli(['hosting-plan', 'set', String(id), 'web.databases=7']);
    assert.equal(set.code, 0, show(set));
    const shown = await cli(['hosting-plan', 'show', String(id)]);
    assert.equal(shown.code, 0, show(shown));
    assert.equal(JSON.parse(shown.stdout).web.databases, 7);

    const missing = await cli(['hosting-plan', 'show', String(id + 50)]);
    assert.notEqual(missing.code, 0, show(missing));
    assert.match(missing.stderr, new RegExp(`hosting plan ${id + 50} does not exist`));
    const notId = await cli(['hosting-plan', 'delete', 'web-pro']);
    assert.equal(notId.code, 2, show(notId));
    assert.match(notId.stderr, /hosting plan id/);

    const del = await cli(['hosting-plan', 'delete', String(id)]);
    assert.equal(del.code, 0, show(del));
    assert.equal(del.stdout.trim(), `hosting plan ${id} deleted`);
    assert.equal((await cli(['hosting-plan', 'list'])).stdout.trim(), 'no hosting plans yet');
  });
});

describe('hostbridge kvm-profile', () => {
  test('add, list, show, update, remove; a bad body is refused with its field and stores nothing', async () => {
    const bad = await cli(['kvm-profile', 'add'], JSON.stringify({ ...kvm, memory_mb: 4 }));
    assert.notEqual(bad.code, 0, show(bad));
    assert.match(bad.stderr, /memory_mb/);
    assert.equal((await cli(['kvm-profile', 'list'])).stdout.trim(), 'no KVM profiles yet');

    const added = await cli(['kvm-profile', 'add'], JSON.stringify(kvm));
    assert.equal(added.code, 0, show(added));
    const id = Number(/KVM profile (\d+) added/.exec(added.stdout)?.[1]);
    assert.ok(id > 0, show(added));

    const upd = await cli(['kvm-profile', 'update', String(id)], JSON.stringify({ ...kvm, cores: 4 }));
    assert.equal(upd.code, 0, show(upd));
    const shown = await cli(['kvm-profile', 'show', String(id)]);
    assert.equal(JSON.parse(shown.stdout).cores, 4, show(shown));
    const list = await cli(['kvm-profile', 'list']);
    assert.equal(JSON.parse(list.stdout.trim()).name, 'vps-small');

    const rm = await cli(['kvm-profile', 'remove', String(id)]);
    assert.equal(rm.code, 0, show(rm));
    assert.equal(rm.stdout.trim(), `KVM profile ${id} removed`);
    const gone = await cli(['kvm-profile', 'show', String(id)]);
    assert.match(gone.stderr, new RegExp(`KVM profile ${id} does not exist`));
  });
});
