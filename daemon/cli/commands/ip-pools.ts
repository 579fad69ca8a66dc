// IP pools from the command line: add one from a JSON body on standard input (the same body as
// POST /v1/ip-pools), list them with used and free counts, show one with who holds each address,
// remove one, and reserve or free an address. `--json` prints the API's JSON instead of text.
import { checkBody } from '../../common/bodies.ts';
import { InputError } from '../../common/errors.ts';
import {
  addPool, getPool, listPools, poolAddresses, removePool, reserveAddress, unreserveAddress, type PoolInput, type PoolView,
} from '../../fleet/ip-pools.ts';
import { countText } from '../../pipelines/ip-ranges.ts';
import { id, noMore, positional, takeFlag, takeOption } from '../args.ts';
import type { CommandGroup } from '../command.ts';
import { withCore, report } from '../core.ts';
import { out, readStdinJson } from '../io.ts';

/** One line: `#3 public-v4  cluster 1 · node any · vmbr0 · untagged · 192.0.2.0/24 gw 192.0.2.1 · 12 used, 241 free`. */
function poolLine(p: PoolView): string {
  const where = `cluster ${p.cluster_id} · node ${p.node ?? 'any'} · ${p.bridge} · ${p.vlan === null ? 'untagged' : `VLAN ${p.vlan}`}`;
  const net = `${p.network}${p.gateway ? ` gw ${p.gateway}` : ''} /${p.prefix}`;
  return `#${p.id} ${p.name}${p.enabled ? '' : ' (disabled)'}  ${where} · ${net} · ${p.used} used, ${countText(BigInt(p.free))} free`;
}

export const ipPoolCommands: CommandGroup = {
  title: 'IP pools for Proxmox VMs (docs/ip-pools.md)',
  commands: [
    {
      name: 'ip-pool add',
      usage: 'ip-pool add < pool.json',
      describe: 'add an IP pool: name, cluster_id, node, bridge, vlan, network, ranges, gateway, prefix, resolvers (see docs/ip-pools.md)',
      async run(args, ctx) {
        noMore(args, 'ip-pool add');
        const body = await readStdinJson('ip-pool add');
        return report(ctx.config(), async (core) => {
          const newId = await addPool(core.db, checkBody<PoolInput>('IpPool', body));
          const p = (await getPool(core.db, newId))!;
          return `IP pool ${newId} added: ${p.network}, ranges ${p.ranges.join(', ')} (${countText(BigInt(p.size))} addresses)`;
        });
      },
    },
    {
      name: 'ip-pool list',
      usage: 'ip-pool list [--json]',
      describe: 'list IP pools with where they apply and how many addresses are used and free',
      async run(args, ctx) {
        const json = takeFlag(args, '--json');
        noMore(args, 'ip-pool list');
        return withCore(ctx.config(), async (core) => {
          const pools = await listPools(core.db);
          for (const p of pools) out(json ? JSON.stringify(p) : poolLine(p));
          if (pools.length === 0 && !json) out('no IP pools yet (hostbridge ip-pool add < pool.json)');
          return 0;
        });
      },
    },
    {
      name: 'ip-pool show',
      usage: 'ip-pool show <id> [--json]',
      describe: 'one pool, and each address allocated, reserved or being released with who holds it',
      async run(args, ctx) {
        const json = takeFlag(args, '--json');
        const poolId = id(positional(args, 'a pool id (from "ip-pool list")', 'ip-pool show'), 'pool id');
        noMore(args, 'ip-pool show');
        return withCore(ctx.config(), async (core) => {
          const p = await getPool(core.db, poolId);
          if (!p) throw new InputError('', `IP pool ${poolId} does not exist (see "hostbridge ip-pool list")`, 404);
          const addresses = await poolAddresses(core.db, poolId);
          if (json) {
            out(JSON.stringify({ pool: p, addresses }));
            return 0;
          }
          out(poolLine(p));
          out(`  ranges: ${p.ranges.join(', ')}; resolvers: ${p.resolvers.join(', ') || 'none'}`);
          for (const a of addresses) {
            const who = a.status === 'reserved' ? 'reserved' : `${a.status} to WHMCS service ${a.whmcs_service_id ?? `? (hostbridge #${a.service_id})`}`;
            out(`  ${a.ip}  ${who}${a.note ? ` — ${a.note}` : ''}`);
          }
          if (addresses.length === 0) out('  no address is allocated or reserved');
          return 0;
        });
      },
    },
    {
      name: 'ip-pool remove',
      usage: 'ip-pool remove <id>',
      describe: 'remove a pool and its reservations (refused while a service holds one of its addresses)',
      async run(args, ctx) {
        const poolId = id(positional(args, 'a pool id', 'ip-pool remove'), 'pool id');
        noMore(args, 'ip-pool remove');
        return report(ctx.config(), async (core) => {
          await removePool(core.db, poolId);
          return `IP pool ${poolId} removed`;
        });
      },
    },
    {
      name: 'ip-pool reserve',
      usage: 'ip-pool reserve <id> <ip> [--note text]',
      describe: 'keep an address of the pool from being handed out (a router, a customer\'s extra address)',
      async run(args, ctx) {
        const note = takeOption(args, '--note');
        const poolId = id(positional(args, 'a pool id', 'ip-pool reserve'), 'pool id');
        const ip = positional(args, 'an IP address', 'ip-pool reserve');
        noMore(args, 'ip-pool reserve');
        return report(ctx.config(), async (core) => `${await reserveAddress(core.db, poolId, ip, note ?? null)} reserved in IP pool ${poolId}`);
      },
    },
    {
      name: 'ip-pool unreserve',
      usage: 'ip-pool unreserve <id> <ip>',
      describe: 'free a reserved address (an address a service holds is freed when its VM is gone)',
      async run(args, ctx) {
        const poolId = id(positional(args, 'a pool id', 'ip-pool unreserve'), 'pool id');
        const ip = positional(args, 'an IP address', 'ip-pool unreserve');
        noMore(args, 'ip-pool unreserve');
        return report(ctx.config(), async (core) => {
          await unreserveAddress(core.db, poolId, ip);
          return `${ip} is free again in IP pool ${poolId}`;
        });
      },
    },
  ],
};
