// An exec request is one string. The emulator has no shell, so it splits POSIX words (quotes and
// backslashes) and refuses anything a shell would have expanded or interpreted.

export class ShellSyntaxRefused extends Error {}

const META = new Set(['$', '`', ';', '|', '&', '>', '<', '(', ')']);

export function parseShellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  const refuse = (ch: string): never => {
    throw new ShellSyntaxRefused(`refused: shell syntax '${ch}' is not supported (no shell on this node; pass arguments literally)`);
  };
  while (i < line.length) {
    const ch = line[i]!;
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new ShellSyntaxRefused('refused: unterminated single quote');
      cur += line.slice(i + 1, end); inWord = true; i = end + 1; continue;
    }
    if (ch === '"') {
      i++; inWord = true;
      for (;;) {
        if (i >= line.length) throw new ShellSyntaxRefused('refused: unterminated double quote');
        const c = line[i]!;
        if (c === '"') { i++; break; }
        // Inside double quotes a shell would still expand these.
        if (c === '$' || c === '`') refuse(c);
        if (c === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1]!)) {
          if (line[i + 1] !== '\n') cur += line[i + 1]; i += 2; continue;
        }
        cur += c; i++;
      }
      continue;
    }
    if (ch === '\\') {
      if (i + 1 >= line.length) throw new ShellSyntaxRefused('refused: trailing backslash');
      if (line[i + 1] !== '\n') { cur += line[i + 1]; inWord = true; }
      i += 2; continue;
    }
    if (ch === ' ' || ch === '\t') {
      if (inWord) { words.push(cur); cur = ''; inWord = false; }
      i++; continue;
    }
    if (ch === '\n' || META.has(ch)) refuse(ch === '\n' ? '\\n' : ch);
    // A leading `~`, `*`, `?` or `[` would be expanded by a shell; refuse those too.
    if (!inWord && ch === '~') refuse(ch);
    if (ch === '*' || ch === '?' || ch === '[') refuse(ch);
    if (!inWord && ch === '#') refuse(ch);
    cur += ch; inWord = true; i++;
  }
  if (inWord) words.push(cur);
  return words;
}
