// Hestia's list formats. JSON is string interpolation exactly like the bash scripts: every value a
// string, no escaping (a `"` in a value breaks the document, as on a real node), fixed indents.

export type Fields = [string, string][];

/** The common `json_list` layout (v-list-web-domains, -mail-*, -dns-*, -user-packages). */
export function jsonObjects(objs: [string, Fields][]): string {
  let out = '{\n';
  objs.forEach(([key, fields], i) => {
    out += `    "${key}": {\n` + fields.map(([k, v]) => `        "${k}": "${v}"`).join(',\n') + '\n    }';
    out += i < objs.length - 1 ? ',\n' : '\n';
  });
  return out + '}\n';
}

/** v-list-users' layout: the closing brace of each object sits at 8 spaces, commas on their own line. */
export function jsonUsers(objs: [string, Fields][]): string {
  let out = '{\n';
  objs.forEach(([key, fields], i) => {
    if (i > 0) out += ',\n';
    out += `    "${key}": {\n` + fields.map(([k, v]) => `        "${k}": "${v}"`).join(',\n') + '\n        }';
  });
  return out + '}\n';
}

/** v-list-user / v-list-sys-info: one object, closing brace at 8 spaces. */
export function jsonSingle(key: string, fields: Fields): string {
  return `{\n    "${key}": {\n` + fields.map(([k, v]) => `        "${k}": "${v}"`).join(',\n') + '\n        }\n}\n';
}

export function plainRows(rows: string[][]): string {
  return rows.map((r) => r.join('\t') + '\n').join('');
}

/** `column -t` (or `-s SEP`): split on the separator, pad every column but the last to its width + 2. */
export function columnT(lines: string[], sep?: string): string {
  const rows = lines.map((l) => (sep ? l.split(sep) : l.split(/\s+/).filter((c) => c !== '')));
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, c.length); });
  return rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]! + 2) : c)).join('') + '\n').join('');
}

/** Pick fields from a conf object in a fixed key order; missing keys print as empty. */
export function pick(obj: Map<string, string>, keys: string[], extra: Record<string, string> = {}): Fields {
  return keys.map((k) => [k, extra[k] ?? obj.get(k) ?? '']);
}
