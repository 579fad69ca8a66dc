// Hestia builds its JSON by string interpolation: every value is a string, an empty list is "{"
// and "}" on two lines, and a value holding '"' or '\' is not escaped (hestiacp issues #5056,
// #5524). JSON.parse is tried first; when it fails, a line-based reader that knows the layout
// of Hestia's output takes over. Odd output yields a HestiaParseError, never a crash.
import { TerminalError } from '../../common/errors.ts';

export type HestiaObject = Record<string, string>;
export type HestiaList = Record<string, HestiaObject>;

export class HestiaParseError extends TerminalError {
  constructor(readonly command: string, reason: string) {
    super(`could not parse the JSON output of ${command}: ${reason}`);
    this.name = 'HestiaParseError';
  }
}

/** Parses `{ "<key>": { "FIELD": "value", … }, … }` as printed by v-list-* json. */
/**
 * `fields`, when given, are the only fields kept in each entry (a listing of every user carries
 * some fifty; usage needs five): the rest are neither copied nor kept in memory.
 */
export function parseHestiaJson(text: string, command = 'command', fields?: readonly string[]): HestiaList {
  const trimmed = text.trim();
  if (trimmed === '') return {};
  const keep = fields ? new Set(fields) : null;
  let data: unknown;
  try {
    data = JSON.parse(trimmed);
  } catch {
    return parseLines(trimmed, command, keep);
  }
  return normalise(data, command, keep);
}

// Values are strings in Hestia's output; numbers or null from a future version are kept as text.
function normalise(data: unknown, command: string, keep: Set<string> | null): HestiaList {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new HestiaParseError(command, 'expected an object at the top level');
  const out: HestiaList = {};
  const wanted = keep ? [...keep] : null;
  for (const [key, obj] of Object.entries(data as Record<string, unknown>)) {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new HestiaParseError(command, `entry "${key.slice(0, 60)}" is not an object`);
    const fields: HestiaObject = {};
    const from = obj as Record<string, unknown>;
    for (const k of wanted ?? Object.keys(from)) {
      if (!Object.hasOwn(from, k)) continue;
      const v = from[k];
      fields[k] = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
    out[key] = fields;
  }
  return out;
}

const OPEN_ROOT = /^\{$/;
const OPEN_ENTRY = /^"(.*)":\s*\{$/;
// Greedy up to the last quote on the line: an unescaped quote inside the value stays in it.
const FIELD = /^"([^"]*)":\s*"(.*)"\s*,?$/;
const CLOSE = /^\},?$/;

function parseLines(text: string, command: string, keep: Set<string> | null): HestiaList {
  const out: HestiaList = {};
  let depth = 0;
  let current: HestiaObject | null = null;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const where = `line ${i + 1}`;
    if (depth === 0) {
      if (!OPEN_ROOT.test(line)) throw new HestiaParseError(command, `${where}: expected "{"`);
      depth = 1;
      continue;
    }
    if (depth === 1) {
      const m = OPEN_ENTRY.exec(line);
      if (m) {
        current = {};
        out[unescape(m[1]!)] = current;
        depth = 2;
        continue;
      }
      if (CLOSE.test(line)) {
        depth = 3;
        continue;
      }
      throw new HestiaParseError(command, `${where}: expected an entry or "}"`);
    }
    if (depth === 2) {
      const f = FIELD.exec(line);
      if (f && current) {
        if (!keep || keep.has(f[1]!)) current[f[1]!] = unescape(f[2]!);
        continue;
      }
      if (CLOSE.test(line)) {
        depth = 1;
        current = null;
        continue;
      }
      throw new HestiaParseError(command, `${where}: expected "KEY": "value"`);
    }
    throw new HestiaParseError(command, `${where}: text after the closing "}"`);
  }
  if (depth !== 3) throw new HestiaParseError(command, 'output ended before the closing "}"');
  return out;
}

// Undo the escapes some commands do apply (v-list-dns-records escapes '"' and tabs); a lone
// backslash that is not an escape is kept as it is.
function unescape(s: string): string {
  return s.replace(/\\(["\\/]|u[0-9a-fA-F]{4})/g, (_, e: string) => (e.length === 5 ? String.fromCharCode(parseInt(e.slice(1), 16)) : e));
}
