// An emulated fleet (fleet.ts) run in a child process, for benchmarks that measure a daemon: the
// nodes' SSH servers and Hestia commands then use their own CPU time and event loop, not the
// bench's. A node's state lives in its directory (emulator/hestia/node.ts), so the caller still
// prepares accounts with runHestia(node.dir, …) and reads command logs with readCommandLog(node.dir);
// only the servers are elsewhere. No PowerDNS: its handle is made of functions.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT, TSX } from './daemon.ts';
import type { FleetNodeAddress, FleetOptions, FleetTopology, NodeKind } from './fleet.ts';

/** A node as the child reports it: what a daemon needs to reach it (FleetNodeAddress), its kind and directory. */
export interface FleetProcessNode extends FleetNodeAddress {
  kind: NodeKind;
  dir: string;
  ssh: { host: string; port: number; hostKeySha256: string };
}

export type FleetProcessMessage = { ready: { root: string; nodes: FleetProcessNode[] } } | { error: string } | { latency: number };

export interface FleetProcess extends FleetTopology<FleetProcessNode> {
  root: string;
  pid: number;
  node(name: string): FleetProcessNode;
  /** Sets every node's injected latency per command; resolves once the child has applied it. */
  setLatency(ms: number): Promise<void>;
  /** Closes the fleet and waits for the child to exit. */
  close(): Promise<void>;
}

const CHILD = path.join(ROOT, 'test/helpers/fleet-child.ts');

/** `nodeFlags`: node/V8 flags for the child (e.g. --cpu-prof, to see the emulator's own time). */
export function startFleetProcess(opts: Omit<FleetOptions, 'pdns'> & { dir: string }, nodeFlags: string[] = [], timeoutMs = 120_000): Promise<FleetProcess> {
  const child: ChildProcess = fork(CHILD, [JSON.stringify(opts)], { execArgv: [...nodeFlags, '--import', TSX], cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`the emulated fleet did not start in ${timeoutMs} ms`)); }, timeoutMs);
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`the emulated fleet's process exited (${code ?? signal}) before it was ready`)); });
    child.once('message', (m: FleetProcessMessage) => {
      clearTimeout(timer);
      if ('error' in m) { reject(new Error(`the emulated fleet did not start: ${m.error}`)); return; }
      if (!('ready' in m)) { reject(new Error(`the emulated fleet sent ${JSON.stringify(m)} before it was ready`)); return; }
      const { root, nodes } = m.ready;
      const by = (k: NodeKind) => nodes.filter((n) => n.kind === k);
      resolve({
        root, pid: child.pid!, nodes, web: by('web'), mail: by('mail'), dns: by('dns'), combo: by('combo'), pdns: null,
        node(name) {
          const n = nodes.find((x) => x.name === name);
          if (!n) throw new Error(`no node ${name} in the fleet`);
          return n;
        },
        setLatency(ms) {
          return new Promise((done, fail) => {
            const onMessage = (r: FleetProcessMessage) => {
              if (!('latency' in r) || r.latency !== ms) return;
              child.off('message', onMessage);
              done();
            };
            child.on('message', onMessage);
            child.send({ latency: ms }, (err) => { if (err) { child.off('message', onMessage); fail(err); } });
          });
        },
        async close() {
          if (child.exitCode === null && child.signalCode === null && child.connected) child.send({ close: true });
          const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
}
