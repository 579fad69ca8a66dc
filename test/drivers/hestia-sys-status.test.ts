// Defect 3 of issue 15: v-list-sys-memory-status and v-list-sys-disk-status end with a bare
// `exit`, so they return the status of their last optional tool (dmidecode, fdisk): 127 on a
// node without it. Their free/df output is valid whatever that status; a 127 with nothing
// printed still means the v-command itself is missing. Driver → in-process SSH emulator.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNode, runHestia, startHestiaNode, type HestiaNodeHandle } from '../emulator/hestia/index.ts';
import { HestiaDriver, SshPool, type HestiaServer } from '../../daemon/drivers/hestia/index.ts';

const PASSWORD = 'root-pass-sys-status';
let work: string;
let full: HestiaNodeHandle;
let bare: HestiaNodeHandle;
const pool = new SshPool();

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hb-sys-status-'));
  const make = async (name: string, config: Record<string, string>) => {
    const dir = join(work, name);
    createNode(dir, { hostname: `${name}.example.net`, ip: '192.0.2.10', roles: { web: true }, config });
    return startHestiaNode({ dir, users: [{ username: 'root', password: PASSWORD, uid: 0 }] });
  };
  full = await make('full', {});
  // A container or a minimal VM: no dmidecode, no fdisk, no lscpu.
  bare = await make('bare', { EMULATOR_MISSING_TOOLS: 'dmidecode,fdisk,lscpu' });
});

after(async () => {
  await pool.closeAll();
  await full?.close();
  await bare?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function driver(node: HestiaNodeHandle, lines: string[], binDir?: string): HestiaDriver {
  const server: HestiaServer = { id: `emu-${node.port}`, host: node.host, port: node.port, username: 'root', password: PASSWORD, hostKeySha256: node.hostKeySha256, commandTimeoutMs: 30_000, ...(binDir ? { binDir } : {}) };
  return new HestiaDriver(pool, server, { log: (l) => lines.push(l) });
}

describe('HestiaCP status commands whose last optional tool is missing', () => {
  it('the emulator exits 127 after printing free/df, as the real scripts do without dmidecode/fdisk', () => {
    const mem = runHestia(bare.dir, 'v-list-sys-memory-status', []);
    assert.equal(mem.code, 127);
    assert.match(mem.stdout, /^\s+total\s+used/m);
    assert.equal(mem.stderr, '', 'dmidecode\'s stderr is discarded by the script');
    const disk = runHestia(bare.dir, 'v-list-sys-disk-status', []);
    assert.equal(disk.code, 127);
    assert.match(disk.stdout, /^Filesystem\s+Size/m);
    assert.match(disk.stderr, /fdisk: command not found/);
    assert.equal(runHestia(full.dir, 'v-list-sys-disk-status', []).code, 0);
  });

  it('the driver keeps the RAM, disk and CPU figures whatever the exit status', async () => {
    const lines: string[] = [];
    const d = driver(bare, lines);
    const mem = await d.memoryStatus();
    assert.ok(mem && mem.totalMb > 0, `memory figures: ${JSON.stringify(mem)}`);
    const disk = await d.diskStatus();
    assert.ok(disk && disk.usedPct >= 0 && disk.usedPct <= 100, `disk figures: ${JSON.stringify(disk)}`);
    const cpu = await d.cpuStatus();
    assert.ok(cpu.busyPct !== null, 'top\'s figure is read without lscpu');
    assert.ok(lines.some((l) => /v-list-sys-disk-status exited 127/.test(l)), `the status is noted in the log: ${lines.join('\n')}`);
    // Same figures as on a node with every tool.
    const other = await driver(full, []).memoryStatus();
    assert.equal(mem.totalMb, other!.totalMb);
  });

  it('127 with nothing printed still says the command is missing', async () => {
    await assert.rejects(driver(full, [], '/opt/hestia/bin').memoryStatus(), /v-list-sys-memory-status was not found in \/opt\/hestia\/bin .*is HestiaCP installed/);
  });
});
