// A process's memory as /proc tells it, in MB: VmRSS now, VmHWM its peak over its whole life.
import fs from 'node:fs';

export function procStatus(pid: number, key: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${key} in /proc/${pid}/status`);
  return Math.round(Number(m[1]) / 1024);
}
