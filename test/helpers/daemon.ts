// Spawns real daemon processes (`hostbridge serve`) for the process-level tests.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TSX = path.join(ROOT, 'node_modules/tsx/dist/esm/index.mjs');
export const CLI = path.join(ROOT, 'daemon/cli.ts');
export const TEST_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';
export const TEST_MASTER_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

export interface DaemonProcess {
  child: ChildProcess;
  url: string;
  pid: number;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export function daemonEnv(databaseUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH, HOME: process.env.HOME,
    HOSTBRIDGE_DATABASE_URL: databaseUrl,
    HOSTBRIDGE_LISTEN: '127.0.0.1:0',
    HOSTBRIDGE_SECRET: TEST_SECRET,
    HOSTBRIDGE_MASTER_KEY: TEST_MASTER_KEY,
    HOSTBRIDGE_LOG_FORMAT: 'json',
    ...extra,
  };
}

/** The compiled daemon as `npm start` (scripts/start.sh) runs it, after `npm run build`. */
export const BUILT_SERVE = ['--optimize-for-size', '--max-semi-space-size=2', path.join(ROOT, 'dist/daemon/cli.js'), 'serve'];

/**
 * Starts `hostbridge serve` (the sources through tsx, or `argv` such as BUILT_SERVE) and resolves
 * once it logs that it is ready. Its log goes to logFile.
 */
export function startDaemonProcess(env: NodeJS.ProcessEnv, logFile: string, timeoutMs = 30_000, argv: string[] = ['--import', TSX, CLI, 'serve']): Promise<DaemonProcess> {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, argv, { env, cwd: ROOT, stdio: ['ignore', log, 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    fs.closeSync(log);
    resolve(code);
  }));
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`daemon did not become ready in ${timeoutMs} ms; see ${logFile}`));
    }, timeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => {
      fs.appendFileSync(logFile, chunk);
      buf += chunk.toString();
      const m = /ready on (http:\/\/[^"\s]+)/.exec(buf);
      if (m && timer) {
        clearTimeout(timer);
        buf = '';
        resolve({
          child, url: m[1], pid: child.pid!, exited,
          async kill(signal: NodeJS.Signals = 'SIGKILL') {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code} before it was ready; see ${logFile}: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`));
    });
  });
}
