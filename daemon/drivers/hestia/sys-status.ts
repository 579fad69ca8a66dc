// HestiaCP's v-list-sys-{cpu,memory,disk}-status print plain tool output (top -b -n1 + lscpu,
// free -t -m, df -h) with no format option. These readers pull the few figures the Infrastructure
// page shows out of that text. Each returns null for what it cannot find, so an older procps
// layout or a node without the tool costs a figure, never the health check.

export interface CpuStatus {
  /** 100 minus top's idle share, one decimal. */
  busyPct: number | null;
  /** lscpu's `CPU(s):`, else the number of `model name` lines. */
  cpus: number | null;
}

export interface MemoryStatus {
  totalMb: number;
  /** total minus `available` when free prints that column, else `used`. */
  usedMb: number;
}

export interface DiskStatus {
  /** The root filesystem as df -h prints it, e.g. `20G`. */
  size: string;
  used: string;
  usedPct: number;
}

const num = (s: string | undefined): number | null => {
  if (s === undefined) return null;
  const n = Number(s.replace(',', '.'));
  return Number.isFinite(n) ? n : null;
};

/** `%Cpu(s):  1.6 us, … 98.4 id, …` (procps 3.3+) or `Cpu(s):  1.6%us, … 98.4%id` (older). */
export function parseCpuStatus(text: string): CpuStatus {
  let busyPct: number | null = null;
  const line = text.split('\n').find((l) => /^%?Cpu\(s\)/.test(l.trim()));
  // top prints each share as `%#5.1f` right after the previous comma, so 100.0 touches it
  // (`ni,100.0 id`): the number is digits with one decimal mark, never the comma before it.
  const idle = line && /(\d+(?:[.,]\d+)?)\s*%?\s*id\b/.exec(line);
  if (idle) {
    const id = num(idle[1]);
    if (id !== null && id >= 0 && id <= 100) busyPct = Math.round((100 - id) * 10) / 10;
  }
  let cpus: number | null = null;
  const lscpu = /^CPU\(s\):\s+(\d+)\s*$/m.exec(text);
  if (lscpu) cpus = Number(lscpu[1]);
  else {
    // Without lscpu: the script's third block is `grep 'model name' /proc/cpuinfo | cut -f 2 -d :`,
    // one model name per CPU (the "model name" label is cut off), ended by an empty line.
    const third = text.split(/^-{20,}$/m)[2];
    const models = third === undefined ? 0 : third.replace(/^\n+/, '').split('\n\n')[0]!.split('\n').filter((l) => l.trim() !== '').length;
    const labelled = text.split('\n').filter((l) => /^model name\b/.test(l)).length;
    if (models > 0 || labelled > 0) cpus = Math.max(models, labelled);
  }
  return { busyPct, cpus };
}

/** The `Mem:` row of `free -t -m`, read against its header so both procps layouts work. */
export function parseMemoryStatus(text: string): MemoryStatus | null {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => /^Mem:/.test(l.trim()));
  if (at < 1) return null;
  const header = lines[at - 1]!.trim().split(/\s+/);
  const values = lines[at]!.trim().split(/\s+/).slice(1).map((v) => num(v));
  const col = (name: string) => { const i = header.indexOf(name); return i >= 0 ? values[i] ?? null : null; };
  const total = col('total');
  if (total === null || total <= 0) return null;
  const available = col('available');
  const used = available !== null ? total - available : col('used');
  if (used === null || used < 0) return null;
  return { totalMb: total, usedMb: used };
}

/** The row of `df -h` mounted on `/`. */
export function parseDiskStatus(text: string): DiskStatus | null {
  const lines = text.split('\n');
  const header = lines.findIndex((l) => /^Filesystem\s+/.test(l));
  if (header < 0) return null;
  for (let i = header + 1; i < lines.length && lines[i]!.trim() !== ''; i++) {
    const cols = lines[i]!.trim().split(/\s+/);
    // Filesystem Size Used Avail Use% Mounted-on
    if (cols.length >= 6 && cols[cols.length - 1] === '/') {
      const [size, used, , pct] = cols.slice(-5);
      const p = num(pct!.replace('%', ''));
      if (p === null) return null;
      return { size: size!, used: used!, usedPct: p };
    }
  }
  return null;
}
