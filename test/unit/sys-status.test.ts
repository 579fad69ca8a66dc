// The readers of HestiaCP's plain-text status commands, on the layouts of the tools they wrap:
// procps-ng top and free (old and new), util-linux lscpu, coreutils df.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCpuStatus, parseDiskStatus, parseMemoryStatus } from '../../daemon/drivers/hestia/sys-status.ts';

const RULE = '\n' + '-'.repeat(74) + '\n\n';

test('CPU: top 3.3+ line, lscpu count', () => {
  const text = 'top - 21:11:02 up 12 days,  3:04,  0 users,  load average: 0.41, 0.30, 0.22\n' +
    'Tasks: 180 total,   1 running, 179 sleeping,   0 stopped,   0 zombie\n' +
    '%Cpu(s):  1.6 us,  0.0 sy,  0.0 ni, 96.6 id,  1.8 wa,  0.0 hi,  0.0 si,  0.0 st\n' +
    'MiB Mem :   3916.0 total,    236.4 free,   1905.7 used,   1773.9 buff/cache\n' + RULE +
    'systemd-+-cron\n' + RULE + 'Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz\nIntel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz\n\n' +
    'Architecture:                    x86_64\nCPU op-mode(s):                  32-bit, 64-bit\nCPU(s):                          2\nOn-line CPU(s) list:             0,1\n';
  assert.deepEqual(parseCpuStatus(text), { busyPct: 3.4, cpus: 2 });
});

test('CPU: the older `Cpu(s): x%us` layout and cpuinfo model lines without lscpu', () => {
  const text = 'Cpu(s):  4.2%us,  1.1%sy,  0.0%ni, 93.9%id,  0.8%wa,  0.0%hi,  0.0%si,  0.0%st\n' + RULE + RULE +
    'model name\t: AMD EPYC 7302\nmodel name\t: AMD EPYC 7302\nmodel name\t: AMD EPYC 7302\nmodel name\t: AMD EPYC 7302\n';
  assert.deepEqual(parseCpuStatus(text), { busyPct: 6.1, cpus: 4 });
});

test('CPU: unknown output gives no figures rather than a wrong one', () => {
  assert.deepEqual(parseCpuStatus('bash: top: command not found\n'), { busyPct: null, cpus: null });
  assert.deepEqual(parseCpuStatus('%Cpu(s): 250.0 id\n'), { busyPct: null, cpus: null });
  // "CPU(s) list" and NUMA lines must not be read as the count.
  assert.equal(parseCpuStatus('NUMA node0 CPU(s):   0-7\nOn-line CPU(s) list: 0-7\n').cpus, null);
});

test('memory: free with the available column counts buff/cache as free', () => {
  const text = '               total        used        free      shared  buff/cache   available\n' +
    'Mem:            3916        1905         236          61        1774        1744\n' +
    'Swap:           1023         101         922\nTotal:          4939        2006        1158\n' + RULE + '      3916 M total memory\n';
  assert.deepEqual(parseMemoryStatus(text), { totalMb: 3916, usedMb: 3916 - 1744 });
});

test('memory: the old free layout without available uses the used column', () => {
  const text = '             total       used       free     shared    buffers     cached\n' +
    'Mem:          2001       1877        124          4        146       1201\n' +
    '-/+ buffers/cache:        529       1472\nSwap:         2047          0       2047\nTotal:        4049       1877       2171\n';
  assert.deepEqual(parseMemoryStatus(text), { totalMb: 2001, usedMb: 1877 });
});

test('memory: nothing recognisable gives null', () => {
  assert.equal(parseMemoryStatus(''), null);
  assert.equal(parseMemoryStatus('Mem: lots\n'), null);
});

test('disk: the root filesystem row of df -h, whatever comes before it', () => {
  const text = 'Filesystem      Size  Used Avail Use% Mounted on\n' +
    'udev            1.9G     0  1.9G   0% /dev\ntmpfs           392M  1.1M  391M   1% /run\n' +
    '/dev/mapper/vg0-root   79G   37G   39G  49% /\n/dev/sda1       470M   82M  364M  19% /boot\n' + RULE +
    'Device             tps    MB_read/s    MB_wrtn/s\n';
  assert.deepEqual(parseDiskStatus(text), { size: '79G', used: '37G', usedPct: 49 });
});

test('disk: no root row or no df header gives null', () => {
  assert.equal(parseDiskStatus('Filesystem      Size  Used Avail Use% Mounted on\n/dev/sda1 470M 82M 364M 19% /boot\n'), null);
  assert.equal(parseDiskStatus('df: cannot read table of mounted file systems\n'), null);
});

// procps-ng top (src/top/top.c) prints each share with `%#5.1f` after a "," and no space, so a
// share of 100 fills the field and touches the comma: `ni,100.0 id`. Lines from `top -b -n1`.
test('CPU: a fully idle machine (`ni,100.0 id`) is 0% busy, a busy one (`  0.0 id`) 100%', () => {
  const idle = 'top - 06:41:12 up 3 days,  2:10,  1 user,  load average: 0.00, 0.00, 0.00\n' +
    'Tasks:  96 total,   1 running,  95 sleeping,   0 stopped,   0 zombie\n' +
    '%Cpu(s):  0.0 us,  0.0 sy,  0.0 ni,100.0 id,  0.0 wa,  0.0 hi,  0.0 si,  0.0 st \n' +
    'MiB Mem :   1967.6 total,    812.3 free,    402.1 used,    753.2 buff/cache     \n' + RULE +
    'Architecture:            x86_64\nCPU(s):                  1\n';
  assert.deepEqual(parseCpuStatus(idle), { busyPct: 0, cpus: 1 });
  const busy = '%Cpu(s): 97.3 us,  2.7 sy,  0.0 ni,  0.0 id,  0.0 wa,  0.0 hi,  0.0 si,  0.0 st \n' + RULE + 'CPU(s):                  8\n';
  assert.deepEqual(parseCpuStatus(busy), { busyPct: 100, cpus: 8 });
  // A locale with a decimal comma prints `ni,100,0 id`.
  assert.equal(parseCpuStatus('%Cpu(s):  0,0 us,  0,0 sy,  0,0 ni,100,0 id,  0,0 wa,  0,0 hi,  0,0 si,  0,0 st\n').busyPct, 0);
  assert.equal(parseCpuStatus('%Cpu(s):  3,1 us,  1,0 sy,  0,0 ni, 95,9 id,  0,0 wa,  0,0 hi,  0,0 si,  0,0 st\n').busyPct, 4.1);
  // The older layout when idle: `0.0%ni,100.0%id`.
  assert.equal(parseCpuStatus('Cpu(s):  0.0%us,  0.0%sy,  0.0%ni,100.0%id,  0.0%wa,  0.0%hi,  0.0%si,  0.0%st\n').busyPct, 0);
});

// v-list-sys-cpu-status prints `grep 'model name' /proc/cpuinfo | cut -f 2 -d : | sed "s/ //"`:
// the bare model names, one per CPU, then an empty line and lscpu (absent on some nodes).
test('CPU: without lscpu the count is the number of model names the script printed', () => {
  const text = '%Cpu(s):  2.0 us,  1.0 sy,  0.0 ni, 97.0 id,  0.0 wa,  0.0 hi,  0.0 si,  0.0 st\n' + RULE +
    'systemd-+-cron\n        `-sshd\n' + RULE + 'AMD EPYC 7302 16-Core Processor\nAMD EPYC 7302 16-Core Processor\nAMD EPYC 7302 16-Core Processor\n\n';
  assert.deepEqual(parseCpuStatus(text), { busyPct: 3, cpus: 3 });
});
