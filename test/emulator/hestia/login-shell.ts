// What sshd does with an exec request: it hands the line to the user's login shell. The emulator
// understands the small part of sh that automation clients use around a command — lists joined
// by ";", "&&" or "||", "$$", "echo", "exec", "kill" and the redirections ">&2", "2>&1",
// ">/dev/null", "2>/dev/null" — and refuses everything else a shell would expand or interpret
// ($(…), backticks, other variables, pipes, background jobs, file redirections, globs), so a
// hostile value that escaped its quotes is refused and logged as not run, never executed.
import { ShellSyntaxRefused } from './shell-words.ts';

export type Token = { word: string } | { op: ';' | '&&' | '||' } | { redirect: '>&2' | '2>&1' | '>/dev/null' | '2>/dev/null' };

const REDIRECTS = ['2>/dev/null', '>/dev/null', '2>&1', '>&2'] as const;

export function tokenize(line: string, pid: number): Token[] {
  const out: Token[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  const refuse = (what: string): never => {
    throw new ShellSyntaxRefused(`refused: shell syntax '${what}' is not supported by this node's shell emulation`);
  };
  const flush = () => {
    if (inWord) out.push({ word: cur });
    cur = '';
    inWord = false;
  };
  while (i < line.length) {
    const ch = line[i]!;
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) refuse('unterminated quote');
      cur += line.slice(i + 1, end); inWord = true; i = end + 1; continue;
    }
    if (ch === '"') {
      i++; inWord = true;
      for (;;) {
        if (i >= line.length) refuse('unterminated quote');
        const c = line[i]!;
        if (c === '"') { i++; break; }
        if (c === '$' && line[i + 1] === '$') { cur += String(pid); i += 2; continue; }
        if (c === '$' || c === '`') refuse(c);
        if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) { cur += line[i + 1]; i += 2; continue; }
        cur += c; i++;
      }
      continue;
    }
    if (ch === '\\') {
      if (i + 1 >= line.length || line[i + 1] === '\n') refuse('\\');
      cur += line[i + 1]; inWord = true; i += 2; continue;
    }
    if (ch === ' ' || ch === '\t') { flush(); i++; continue; }
    if (ch === '$' && line[i + 1] === '$') { cur += String(pid); inWord = true; i += 2; continue; }
    if (ch === ';') { flush(); out.push({ op: ';' }); i++; continue; }
    if (line.startsWith('&&', i)) { flush(); out.push({ op: '&&' }); i += 2; continue; }
    if (line.startsWith('||', i)) { flush(); out.push({ op: '||' }); i += 2; continue; }
    if (!inWord || ch === '>') {
      const r = REDIRECTS.find((x) => line.startsWith(x, i) && (i + x.length === line.length || ' \t;'.includes(line[i + x.length]!)));
      if (r) { flush(); out.push({ redirect: r }); i += r.length; continue; }
    }
    if (ch === '\n' || '$`|&<>()'.includes(ch)) refuse(ch === '\n' ? '\\n' : ch);
    if (!inWord && (ch === '~' || ch === '#')) refuse(ch);
    if (ch === '*' || ch === '?' || ch === '[') refuse(ch);
    cur += ch; inWord = true; i++;
  }
  flush();
  return out;
}

export interface SimpleCommand { argv: string[]; stdout: 'out' | 'err' | 'null'; stderr: 'err' | 'out' | 'null'; op: ';' | '&&' | '||' | null }

/** The line as simple commands, each with the operator that joins it to the one before. */
export function parseLine(line: string, pid: number): SimpleCommand[] {
  const cmds: SimpleCommand[] = [];
  let cur: SimpleCommand = { argv: [], stdout: 'out', stderr: 'err', op: null };
  for (const t of tokenize(line, pid)) {
    if ('word' in t) cur.argv.push(t.word);
    else if ('redirect' in t) {
      if (t.redirect === '>&2') cur.stdout = 'err';
      else if (t.redirect === '2>&1') cur.stderr = 'out';
      else if (t.redirect === '>/dev/null') cur.stdout = 'null';
      else cur.stderr = 'null';
    } else {
      if (cur.argv.length === 0) throw new ShellSyntaxRefused(`refused: shell syntax '${t.op}' with no command before it`);
      cmds.push(cur);
      cur = { argv: [], stdout: 'out', stderr: 'err', op: t.op };
    }
  }
  if (cur.argv.length) cmds.push(cur);
  else if (cur.op && cur.op !== ';') throw new ShellSyntaxRefused(`refused: shell syntax '${cur.op}' with no command after it`);
  return cmds;
}
