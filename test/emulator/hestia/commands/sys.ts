// v-list-sys-info: what the node reports about itself (hostname from createNode, the emulating host's arch and load).
import { arch, loadavg, uptime } from 'node:os';
import { columnT, jsonSingle, plainRows } from '../output.ts';
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

export const sysCommands: Record<string, Command> = { 'v-list-sys-info': listSysInfo };
