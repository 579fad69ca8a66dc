// Reading a command's arguments: flags, options, positionals and their checks, each failing with
// a UsageError that names the argument and the command.
import { UsageError } from './command.ts';

export function takeFlag(args: string[], flag: string): boolean {
  const i = args.indexOf(flag);
  if (i < 0) return false;
  args.splice(i, 1);
  return true;
}

/** `--name value` or `--name=value`, removed from args; undefined when absent. */
export function takeOption(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === name || a.startsWith(name + '='));
  if (i < 0) return undefined;
  const a = args[i];
  if (a.includes('=')) {
    args.splice(i, 1);
    return a.slice(name.length + 1);
  }
  const v = args[i + 1];
  if (v === undefined || v.startsWith('-')) throw new UsageError(`${name} needs a value`);
  args.splice(i, 2);
  return v;
}

/** Refuses whatever is left once a command has taken its arguments. */
export function noMore(args: string[], command: string): void {
  const opt = args.find((a) => a.startsWith('-'));
  if (opt) throw new UsageError(`unknown option "${opt}" for ${command}`);
  if (args.length) throw new UsageError(`unexpected argument "${args[0]}" for ${command}`);
}

export function positional(args: string[], what: string, command: string): string {
  const v = args.shift();
  if (v === undefined) throw new UsageError(`${command} needs ${what}`);
  if (v.startsWith('-')) throw new UsageError(`unknown option "${v}" for ${command}`);
  return v;
}

export function id(value: string, what: string): number {
  if (!/^\d{1,15}$/.test(value) || Number(value) === 0) throw new UsageError(`${what} must be a positive whole number, got "${value}"`);
  return Number(value);
}

export function parseDuration(value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(value.trim());
  if (!m) throw new UsageError(`duration "${value}" must be a number followed by ms, s, m, h or d (e.g. 30m)`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms']!;
}
