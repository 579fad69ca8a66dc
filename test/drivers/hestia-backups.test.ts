// The driver's backup methods against an emulated HestiaCP node over SSH (in-process server on
// loopback): a backup now and its parsed listing, a partial restore with the selectors on argv as
// HestiaCP reads them, the queued variants drained as HestiaCP's cron would, deletion, Hestia's
// exit codes kept, and bad arguments refused before anything is sent.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEmulatedFleet, type EmulatedFleet, type EmulatedNode } from '../helpers/fleet.ts';
import { readCommandLog, readNode, runHestia } from '../emulator/hestia/index.ts';
import { writeKeyFile } from '../emulator/hestia/conf.ts';
import { DEFAULT_PACKAGE, paths } from '../emulator/hestia/node.ts';
import { drainBackupQueue } from '../emulator/hestia/commands/backups.ts';
import { ArgumentError, HestiaDriver, HestiaTerminalError, SshPool, hasHestiaCode } from '../../daemon/drivers/hestia/index.ts';
import type { RestoreParts } from '../../daemon/drivers/hestia/backups.ts';

let fleet: EmulatedFleet;
let node: EmulatedNode;
const pool = new SshPool();
const lines: string[] = [];
const prog = (e: { argv: string[] | null }) => e.argv?.[0]?.split('/').pop();
const ok = (r: { code: number; stdout: string }) => assert.equal(r.code, 0, r.stdout);

before(async () => {
  fleet = await startEmulatedFleet({ web: 0, mail: 0, dns: 0, combo: 1, pdns: false });
  node = fleet.combo[0]!;
  const run = (cmd: string, ...args: string[]) => ok(runHestia(node.dir, cmd, args));
  run('v-add-user', 'dave', 'Dave-pw-1', 'dave@example.com');
  run('v-add-web-domain', 'dave', 'd.example');
  run('v-add-mail-domain', 'dave', 'd.example', 'no', 'no', 'no');
  run('v-add-mail-account', 'dave', 'd.example', 'info', 'Mail-pw-1');
  run('v-add-mail-account', 'dave', 'd.example', 'sales', 'Mail-pw-2');
  writeFileSync(join(paths.home(node.dir, 'dave'), 'web', 'd.example', 'public_html', 'index.html'), 'v1\n');
  writeKeyFile(paths.pkg(node.dir, 'nobackup'), new Map(DEFAULT_PACKAGE.map(([k, v]) => [k, k === 'BACKUPS' ? '0' : v] as [string, string])));
  run('v-add-user', 'nora', 'Nora-pw-1', 'nora@example.com', 'nobackup');
});

after(async () => {
  await pool.closeAll();
  await fleet?.close();
});

function driver(): HestiaDriver {
  return new HestiaDriver(pool, {
    id: 'backup-node', host: '127.0.0.1', port: node.port, username: 'root', password: node.password, hostKeySha256: node.ssh.hostKeySha256, commandTimeoutMs: 30_000,
  }, { log: (l) => lines.push(l) });
}

const accounts = () => readNode(node.dir).users.dave!.mail[0]!.accounts.map((a) => a.ACCOUNT);

describe('HestiaDriver: backups', () => {
  let archive = '';

  it('backupUser runs v-backup-user and returns the archive; listBackups parses backup.conf', async () => {
    const d = driver();
    assert.deepEqual(await d.listBackups('dave'), []);
    archive = (await d.backupUser('dave'))!;
    assert.match(archive, /^dave\.\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.tar$/);
    const list = await d.listBackups('dave');
    assert.equal(list.length, 1);
    const b = list[0]!;
    assert.equal(b.archive, archive);
    assert.deepEqual(b.types, ['local']);
    assert.equal(b.sizeMb, 1);
    assert.deepEqual(b.web, ['d.example']);
    assert.deepEqual(b.mail, ['d.example']);
    assert.deepEqual(b.dns, [], 'the combo node has a DNS role but dave has no zone');
    assert.equal(b.runtimeMinutes, 1);
    assert.match(b.date, /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(lines.some((l) => l.includes('-- SUMMARY --')), 'the progress log reaches the task log');
    const run = readCommandLog(node.dir).filter((e) => prog(e) === 'v-backup-user').pop()!;
    assert.deepEqual(run.argv!.slice(1), ['dave', 'no']);
  });

  it('restoreBackup with one part: the deleted mailbox is back, the site is left as it is', async () => {
    const d = driver();
    ok(runHestia(node.dir, 'v-delete-mail-account', ['dave', 'd.example', 'sales']));
    const page = join(paths.home(node.dir, 'dave'), 'web', 'd.example', 'public_html', 'index.html');
    writeFileSync(page, 'v2\n');
    assert.deepEqual(accounts(), ['info']);
    await d.restoreBackup('dave', archive, { mail: ['d.example'] });
    assert.deepEqual(accounts(), ['info', 'sales']);
    assert.equal(readFileSync(page, 'utf8'), 'v2\n');
    const run = readCommandLog(node.dir).filter((e) => prog(e) === 'v-restore-user').pop()!;
    assert.deepEqual(run.argv!.slice(1), ['dave', archive, 'no', 'no', 'd.example', 'no', 'no', 'no', 'no']);

    await d.restoreBackup('dave', archive, { web: 'all', cron: 'all' });
    assert.equal(readFileSync(page, 'utf8'), 'v1\n');
    const all = readCommandLog(node.dir).filter((e) => prog(e) === 'v-restore-user').pop()!;
    assert.deepEqual(all.argv!.slice(3), ['*', 'no', 'no', 'no', '*', 'no', 'no']);
  });

  it('refuses bad arguments before anything is sent', async () => {
    const d = driver();
    const before = readCommandLog(node.dir).length;
    const bad: [string, RestoreParts][] = [
      ['../../etc/passwd', { web: 'all' }], ['dave.tar; id', { web: 'all' }], [archive, {}], [archive, { web: 'none', mail: 'none' }],
      [archive, { web: [] }], [archive, { web: ['a.example,b.example'] }], [archive, { db: ['x;y'] }], [archive, { udir: ['../etc'] }],
      [archive, { udir: ['web'] }], [archive, { cron: ['1'] as unknown as 'all' }],
    ];
    for (const [a, parts] of bad) await assert.rejects(d.restoreBackup('dave', a, parts), ArgumentError, `${a} ${JSON.stringify(parts)}`);
    await assert.rejects(d.deleteBackup('dave', 'dave.2026-01-01.tar.gz'), ArgumentError);
    await assert.rejects(d.backupUser('-rf'), ArgumentError);
    assert.equal(readCommandLog(node.dir).length, before, 'no command reached the node');
  });

  it("keeps HestiaCP's exit codes: unknown archive 3, backups off in the package 11, already queued 4", async () => {
    const d = driver();
    const code = async (p: Promise<unknown>, name: Parameters<typeof hasHestiaCode>[1]) => {
      const err = await p.then(() => null, (e: unknown) => e);
      assert.ok(hasHestiaCode(err, name), `expected ${name}, got ${String(err)}`);
      assert.ok(err instanceof HestiaTerminalError);
    };
    await code(d.deleteBackup('dave', 'dave.2020-01-01_00-00-00.tar'), 'E_NOTEXIST');
    await code(d.restoreBackup('dave', 'dave.2020-01-01_00-00-00.tar', { web: 'all' }), 'E_NOTEXIST');
    await code(d.scheduleRestore('dave', 'dave.2020-01-01_00-00-00.tar', { web: 'all' }), 'E_NOTEXIST');
    await code(d.backupUser('nora'), 'E_DISABLED');
    await code(d.scheduleBackup('nora'), 'E_DISABLED');
    await d.scheduleBackup('dave');
    await code(d.scheduleBackup('dave'), 'E_EXISTS');
    await sleep(1050); // the queued backup must not share the first archive's second
    assert.equal(drainBackupQueue(node.dir), 0);
  });

  it('scheduleRestore queues the restore; deleteBackup removes an archive and its entry', async () => {
    const d = driver();
    const list = await d.listBackups('dave');
    assert.equal(list.length, 1, 'the default package keeps one backup: the queued run rotated the first');
    const latest = list[0]!.archive;
    assert.notEqual(latest, archive);
    ok(runHestia(node.dir, 'v-delete-mail-account', ['dave', 'd.example', 'info']));
    await d.scheduleRestore('dave', latest, { mail: 'all' });
    assert.match(readFileSync(join(node.dir, 'data', 'queue', 'backup.pipe'), 'utf8'), new RegExp(`v-restore-user dave ${latest.replace(/\./g, '\\.')} no no \\\\\\* no no no yes`));
    assert.deepEqual(accounts(), ['sales'], 'nothing happens until the queue runs');
    assert.equal(drainBackupQueue(node.dir), 0);
    assert.deepEqual(accounts(), ['info', 'sales']);

    await d.deleteBackup('dave', latest);
    assert.deepEqual(await d.listBackups('dave'), []);
    assert.equal(readNode(node.dir).users.dave!.counters.U_BACKUPS, 0);
  });
});
