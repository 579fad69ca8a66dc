// The child side of startFleetProcess (fleet-process.ts): starts an emulated fleet in this process,
// sends its addresses to the parent over the IPC channel, and closes it when the parent says so or
// goes away. Its SSH servers then run on their own event loop, not the caller's.
import { startEmulatedFleet, type FleetOptions } from './fleet.ts';
import type { FleetProcessMessage } from './fleet-process.ts';

const send = (m: FleetProcessMessage) => new Promise<void>((resolve) => process.send!(m, () => resolve()));

async function main(): Promise<void> {
  if (!process.send) throw new Error('fleet-child.ts runs under startFleetProcess (an IPC channel is needed)');
  const opts = JSON.parse(process.argv[2] ?? '{}') as FleetOptions;
  const fleet = await startEmulatedFleet({ ...opts, pdns: false });
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await fleet.close();
    process.exit(0);
  };
  process.on('message', (m) => {
    const msg = m as { close?: boolean; latency?: number };
    if (msg.close) void close();
    // Every node's injected latency per command; answered once applied.
    if (typeof msg.latency === 'number') {
      fleet.setLatency(msg.latency);
      void send({ latency: msg.latency });
    }
  });
  process.on('disconnect', () => void close());
  await send({
    ready: {
      root: fleet.root,
      nodes: fleet.nodes.map((n) => ({
        name: n.name, kind: n.kind, roles: n.roles, dir: n.dir, ip: n.ip, password: n.password, port: n.port,
        ssh: { host: n.ssh.host, port: n.ssh.port, hostKeySha256: n.ssh.hostKeySha256 },
      })),
    },
  });
}

main().catch(async (err) => {
  if (process.send) await send({ error: String((err as Error).stack ?? err) }).catch(() => {});
  process.exit(1);
});
