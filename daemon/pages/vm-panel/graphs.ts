// The panel's graphs: Proxmox's RRD samples of a VM drawn as SVG paths on the server, so the
// customer's browser gets a finished picture (no charting script, nothing fetched from the daemon).
// Pure: the same samples give the same paths. A sample without a key (before the VM existed, or an
// empty one) breaks the line rather than drawing a zero.
import type { RrdPoint } from './cluster-reads.ts';

export const GRAPH_TIMEFRAMES = ['hour', 'day', 'week', 'month'] as const;
export type GraphTimeframe = (typeof GRAPH_TIMEFRAMES)[number];

/** The drawing area, in SVG user units. */
export const GRAPH_W = 600;
export const GRAPH_H = 150;

export interface Series { key: string; label: string; className: string; d: string; points: number }
export interface Graph {
  id: string;
  title: string;
  /** The value at the top of the drawing (a round number), and in words. */
  max: number;
  maxText: string;
  from: number;
  to: number;
  series: Series[];
  /** No sample carries any of the graph's keys. */
  empty: boolean;
}

type Unit = 'percent' | 'bytes' | 'rate';

const GRAPHS: Array<{ id: string; title: string; unit: Unit; series: Array<{ key: string; label: string; scale?: number }> }> = [
  { id: 'cpu', title: 'CPU', unit: 'percent', series: [{ key: 'cpu', label: 'CPU use', scale: 100 }] },
  { id: 'memory', title: 'Memory', unit: 'bytes', series: [{ key: 'mem', label: 'used' }, { key: 'maxmem', label: 'total' }] },
  { id: 'disk', title: 'Disk I/O', unit: 'rate', series: [{ key: 'diskread', label: 'read' }, { key: 'diskwrite', label: 'write' }] },
  { id: 'network', title: 'Network traffic', unit: 'rate', series: [{ key: 'netin', label: 'in' }, { key: 'netout', label: 'out' }] },
];

/**
 * A round number at or above v, so the axis reads well: 1, 2 or 5 × 10ⁿ; for sizes (binary) the
 * same in the size's own unit (2 GiB, not 2.1 GB).
 */
export function niceMax(v: number, binary = false): number {
  if (!(v > 0)) return 1;
  const unit = binary ? 1024 ** Math.max(0, Math.floor(Math.log(v) / Math.log(1024))) : 1;
  const x = v / unit;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x * (1 - 1e-12)) return m * p * unit;
  return 10 * p * unit;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

function bytesText(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

function valueText(unit: Unit, v: number): string {
  if (unit === 'percent') return `${v} %`;
  if (unit === 'bytes') return bytesText(v);
  return `${bytesText(v)}/s`;
}

/**
 * The path of one key: `M x,y L x,y …`, x from the sample's time across [from, to], y from its value
 * over [0, max] (0 at the bottom). A missing value starts a new `M` after the gap.
 */
export function seriesPath(samples: readonly RrdPoint[], key: string, o: { from: number; to: number; max: number; scale?: number }): { d: string; points: number } {
  const span = Math.max(1, o.to - o.from);
  const parts: string[] = [];
  let drawing = false;
  let points = 0;
  for (const s of samples) {
    const raw = s[key];
    if (typeof raw !== 'number' || !Number.isFinite(raw)) {
      drawing = false;
      continue;
    }
    const v = raw * (o.scale ?? 1);
    const x = round1(((s.time - o.from) / span) * GRAPH_W);
    const y = round1(GRAPH_H - (Math.min(Math.max(v, 0), o.max) / o.max) * GRAPH_H);
    parts.push(`${drawing ? 'L' : 'M'}${x},${y}`);
    drawing = true;
    points++;
  }
  return { d: parts.join(' '), points };
}

/** The four graphs (CPU, memory, disk I/O, network) of one timeframe's samples. */
export function buildGraphs(samples: readonly RrdPoint[]): Graph[] {
  const from = samples.length ? samples[0]!.time : 0;
  const to = samples.length ? samples[samples.length - 1]!.time : 1;
  return GRAPHS.map((g) => {
    let top = 0;
    let any = false;
    for (const s of samples) {
      for (const x of g.series) {
        const v = s[x.key];
        if (typeof v === 'number' && Number.isFinite(v)) {
          any = true;
          top = Math.max(top, v * (x.scale ?? 1));
        }
      }
    }
    const max = niceMax(top, g.unit !== 'percent');
    const series = g.series.map((x, i) => ({ key: x.key, label: x.label, className: `hb-series-${i}`, ...seriesPath(samples, x.key, { from, to, max, scale: x.scale }) }));
    return { id: g.id, title: g.title, max, maxText: valueText(g.unit, max), from, to, series, empty: !any };
  });
}
