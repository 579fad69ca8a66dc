// The CLI's output and input: whole lines to stdout (stamped for live job output), and standard
// input read whole (secrets and JSON bodies never go on the command line).
import { UsageError } from './command.ts';

export function out(line: string): void {
  process.stdout.write(line + '\n');
}

/** A line with the time of day: the scheduler commands' live output. */
export function stamp(line: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`);
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Standard input as JSON, for a command that takes its body there; not JSON is a usage error naming the command. */
export async function readStdinJson(command: string): Promise<unknown> {
  const text = await readStdin();
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${command} reads a JSON object on standard input; that was not JSON (${(err as Error).message})`);
  }
}
