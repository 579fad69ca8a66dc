// `hostbridge --help`, generated from the command table: each group a section, each command its
// usage line and description in two columns.
import { VERSION } from '../version.ts';
import type { Command } from './command.ts';
import { COMMAND_GROUPS } from './commands/index.ts';

const COLUMN = 31;
const indent = (line: string) => `  ${''.padEnd(COLUMN)}${line}`;

/** The help lines of some commands: a usage too long for the column gets a line of its own. */
export function commandLines(commands: Command[]): string[] {
  return commands.flatMap((c) => [
    ...(c.usage.length < COLUMN ? [`  ${c.usage.padEnd(COLUMN)}${c.describe}`] : [`  ${c.usage}`, indent(c.describe)]),
    ...(c.details ?? []).map(indent),
  ]);
}

export function helpText(): string {
  const sections = COMMAND_GROUPS.map((g) => [g.title, ...commandLines(g.commands)].join('\n'));
  return `hostbridge ${VERSION} — provisioning daemon for WHMCS

Usage: hostbridge <command> [arguments]

${sections.join('\n\n')}

Options
  -h, --help                     this help
  -v, --version                  print the version

Configuration comes from HOSTBRIDGE_* environment variables and the JSON file named by
HOSTBRIDGE_CONFIG; see docs/configuration.md. With none, the daemon uses data/hostbridge.sqlite.`;
}
