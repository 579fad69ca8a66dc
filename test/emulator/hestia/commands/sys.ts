// v-list-sys-info: what the node reports about itself (hostname from createNode, the emulating host's arch and load).
// v-list-sys-{cpu,memory,disk}-status: HestiaCP prints raw `top -b -n1` + lscpu, `free -t -m` and
// `df -h` output (no FORMAT argument); the emulator prints the same layouts with the emulating
// host's figures (CPU times since boot, memory, and the filesystem holding the node's directory).
import { statfsSync } from 'node:fs';
import { arch, cpus, freemem, loadavg, totalmem, uptime } from 'node:os';
import { columnT, jsonSingle, plainRows } from '../output.ts';
import { HestiaExit } from '../errors.ts';
import type { Ctx } from './ctx.ts';
import type { Command } from './types.ts';

const listSysInfo: Command = {
  run(c) {
    const format = c.args.length >= 1 ? c.arg(1) : 'shell';
    const la = loadavg().map((n) => n.toFixed(2)).join(' / ');
    const a = arch() === 'x64' ? 'x86_64' : arch() === 'arm64' ? 'aarch64' : arch();
    const fields: [string, string][] = [['HOSTNAME', c.conf('EMULATOR_HOSTNAME')], ['OS', 'Debian'], ['VERSION', '12'], ['ARCH', a],
      ['HESTIA', c.conf('VERSION')], ['RELEASE', c.conf('RELEASE_BRANCH')], ['UPTIME', String(Math.floor(uptime() / 60))], ['LOADAVERAGE', la]];
    switch (format) {
      case 'json': return jsonSingle('sysinfo', fields);
      case 'plain': return plainRows([fields.map(([, x]) => x)]);
      case 'shell': return columnT(['HOSTNAME   OS   VER   ARCH  HESTIA  RELEASE  UPTIME   LA', '--------   --   ---   ----  ------  -------  ------   --',
        fields.map(([, x]) => x).join(' ')]);
      default: return '';
    }
  },
};

// The scripts' separator: `echo -en "\n" + 45 dashes`, then 45 dashes + "\n\n".
const RULE = '\n' + '-'.repeat(90) + '\n\n';

/**
 * The scripts end with a bare `exit`, so their status is that of the last tool (lscpu, dmidecode,
 * fdisk): 127 when it is not installed. Emulator-only hestia.conf key EMULATOR_MISSING_TOOLS
 * (comma list, e.g. `dmidecode,fdisk`) makes the node one without those tools.
 */
function missing(c: Ctx, tool: string): boolean {
  return c.conf('EMULATOR_MISSING_TOOLS').split(',').map((t) => t.trim()).includes(tool);
}

/** The script's output so far, then its last tool's status: 0 when present, 127 when absent (with bash's message when stderr is not discarded). */
function lastTool(c: Ctx, stdout: string, tool: string, present: string, stderrShown: boolean, line: number): string {
  if (!missing(c, tool)) return stdout + present;
  throw new HestiaExit(127, stdout, false, stderrShown ? `/usr/local/hestia/bin/${c.script}: line ${line}: ${tool}: command not found\n` : '');
}

const cpuStatus: Command = {
  run(c) {
    const list = cpus();
    const t = list.reduce((a, c) => ({ user: a.user + c.times.user, nice: a.nice + c.times.nice, sys: a.sys + c.times.sys, idle: a.idle + c.times.idle, irq: a.irq + c.times.irq }),
      { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 });
    const all = t.user + t.nice + t.sys + t.idle + t.irq || 1;
    const p = (n: number) => ((n / all) * 100).toFixed(1).padStart(5);
    const la = loadavg().map((n) => n.toFixed(2)).join(', ');
    const mib = (n: number) => (n / 1048576).toFixed(1);
    const top = [
      `top - ${new Date().toTimeString().slice(0, 8)} up ${Math.floor(uptime() / 60)} min,  1 user,  load average: ${la}`,
      'Tasks:  42 total,   1 running,  41 sleeping,   0 stopped,   0 zombie',
      `%Cpu(s):${p(t.user)} us,${p(t.sys)} sy,${p(t.nice)} ni,${p(t.idle)} id,  0.0 wa,${p(t.irq)} hi,  0.0 si,  0.0 st`,
      `MiB Mem : ${mib(totalmem())} total, ${mib(freemem())} free, ${mib(totalmem() - freemem())} used, 0.0 buff/cache`,
      'MiB Swap:      0.0 total,      0.0 free,      0.0 used.      0.0 avail Mem',
      '',
      '    PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND',
      '      1 root      20   0  167744  11200   8320 S   0.0   0.1   0:01.20 systemd',
    ].join('\n') + '\n';
    const models = list.map((c) => c.model.trim()).join('\n');
    return lastTool(c, top + RULE + 'systemd-+-sshd\n        `-cron\n' + RULE + models + '\n\n', 'lscpu',
      `Architecture:        ${arch() === 'x64' ? 'x86_64' : arch()}\nCPU(s):              ${list.length}\n`, false, 26);
  },
};

const memoryStatus: Command = {
  run(c) {
    const mb = (n: number) => Math.floor(n / 1048576);
    const total = mb(totalmem());
    const free = mb(freemem());
    const rows = [
      ['', 'total', 'used', 'free', 'shared', 'buff/cache', 'available'],
      ['Mem:', String(total), String(total - free), String(free), '0', '0', String(free)],
      ['Swap:', '0', '0', '0'],
      ['Total:', String(total), String(total - free), String(free)],
    ];
    const text = rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(7) : c.padStart(12))).join('').trimEnd()).join('\n') + '\n';
    // dmidecode -t 17 2> /dev/null: no message when it is missing.
    return lastTool(c, text + RULE + `      ${total} M total memory\n      ${total - free} M used memory\n      ${free} M free memory\n` + RULE, 'dmidecode',
      '# dmidecode 3.4\nGetting SMBIOS data from sysfs.\nSMBIOS 2.8 present.\n\nHandle 0x1100, DMI type 17, 40 bytes\nMemory Device\n\tSize: ' + total + ' MB\n\tType: RAM\n', false, 24);
  },
};

/** df -h's sizes: one decimal under 10, whole numbers above, K/M/G/T suffix. */
function human(bytes: number): string {
  const units = ['K', 'M', 'G', 'T', 'P'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (v < 10 ? Math.ceil(v * 10) / 10 : Math.ceil(v)).toString() + units[i];
}

const diskStatus: Command = {
  run(c) {
    const s = statfsSync(c.dir);
    const size = s.blocks * s.bsize;
    const avail = s.bavail * s.bsize;
    const used = size - s.bfree * s.bsize;
    const pct = used + avail > 0 ? Math.ceil((used / (used + avail)) * 100) : 0;
    const lines = ['Filesystem      Size  Used Avail Use% Mounted on',
      `/dev/vda1       ${human(size).padStart(4)}  ${human(used).padStart(4)}  ${human(avail).padStart(4)}  ${String(pct).padStart(3)}% /`,
      'tmpfs           2.0G     0  2.0G   0% /dev/shm'];
    const inodes = ['Filesystem     Inodes IUsed IFree IUse% Mounted on', '/dev/vda1        2.5M  120K  2.4M    5% /'];
    return lastTool(c, lines.join('\n') + '\n' + RULE + inodes.join('\n') + '\n' + RULE +
      'Device             tps    MB_read/s    MB_wrtn/s\nvda               1.00         0.01         0.02\n' + RULE, 'fdisk',
      'Disk /dev/vda: 40 GiB, 42949672960 bytes, 83886080 sectors\n', true, 29);
  },
};

export const sysCommands: Record<string, Command> = {
  'v-list-sys-info': listSysInfo,
  'v-list-sys-cpu-status': cpuStatus,
  'v-list-sys-memory-status': memoryStatus,
  'v-list-sys-disk-status': diskStatus,
};
