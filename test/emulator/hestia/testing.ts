// Test convenience: a fresh node directory (web, mail and DNS by default) plus a runner bound to it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNode, type NodeRoles, runHestia } from './index.ts';

export function freshNode(roles: NodeRoles = { web: true, mail: true, dns: true }): { dir: string; run: (cmd: string, ...args: string[]) => ReturnType<typeof runHestia> } {
  const dir = mkdtempSync(join(tmpdir(), 'hestia-emu-'));
  createNode(dir, { hostname: 'node1.example.net', ip: '192.0.2.10', roles });
  return { dir, run: (cmd, ...args) => runHestia(dir, cmd, args) };
}
