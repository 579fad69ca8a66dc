// A process's memory as /proc tells it, in MB: VmRSS now, VmHWM its peak over its whole life.
import fs from 'node:fs';

export function procStatus(pid: number, key: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${key} in /proc/${pid}/status`);
  return Math.round(Number(m[1]) / 1024);
}

/** A process's CPU time so far (user + system), in milliseconds, from /proc/<pid>/stat. */
export function procCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after its closing parenthesis.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  return Math.round((ticks * 1000) / 100);
}
