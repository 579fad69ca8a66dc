// A VM's DNS records on one DNS server (seed 003, "DNS configuration during deploy"): A/AAAA for
// its host name in the longest zone of the server that holds the name, and a PTR for each of its
// addresses in the reverse zone that covers it. Zones are not created here: a server without a
// matching zone is skipped. A failure is logged per zone ("fwd ERR …", "rev ERR …") and never fails
// the step — the deployment goes on; Verify & Repair publishes what was missed. A zone that is
// another customer's hosting domain is never written to or cleaned up (CreateAccount refuses such
// a host name; a hosting service may take the domain later).
import type { TaskContext, TaskRegistry } from '../../engine/registry.ts';
import type { ZoneHost } from '../../dns/zone-host.ts';
import { reverseName } from '../../dns/reverse.ts';
import { serviceAddresses, type AllocatedAddress } from '../../fleet/ip-pools.ts';
import { registerStep } from './timed.ts';
import { serviceById } from '../../services/store.ts';
import { foreignDomainHolder } from '../../services/vm-lifecycle.ts';
import { wantedPtrNames } from '../../services/vm-network-store.ts';
import { loadVmService, type KvmDeps, type LoadedVmService } from './context.ts';
import { VM_POLICY } from './create.ts';

/** Reverse zones tried for an address, most specific first (octets for IPv4, common nibble cuts for IPv6). */
const REVERSE_PREFIXES: Record<4 | 6, number[]> = { 4: [24, 16, 8], 6: [64, 56, 48, 40, 32] };

/** The longest zone on the host that holds `name` (the name itself, then each parent down to two labels), with the record's relative name. */
export async function forwardZone(host: ZoneHost, name: string): Promise<{ zone: string; rel: string } | null> {
  const labels = name.split('.');
  for (let i = 0; i <= labels.length - 2; i++) {
    const zone = labels.slice(i).join('.');
    if (await host.zoneExists(zone)) return { zone, rel: i === 0 ? '@' : labels.slice(0, i).join('.') };
  }
  return null;
}

export async function reverseZone(host: ZoneHost, a: AllocatedAddress): Promise<{ zone: string; rel: string } | null> {
  for (const prefix of REVERSE_PREFIXES[a.family]) {
    const r = reverseName(a.ip, prefix);
    if (await host.zoneExists(r.zone)) return { zone: r.zone, rel: r.name };
  }
  return null;
}

interface Tally { ok: number; err: number; none: number }

async function openHost(deps: KvmDeps, ctx: TaskContext, server: number): Promise<ZoneHost | null> {
  const s = await deps.fleet.server(server);
  if (s.driver !== 'powerdns') {
    // A HestiaCP node's zones belong to its hosting customers' users: VM records are published on PowerDNS.
    ctx.log(`skip: ${s.name} is a HestiaCP node; VM records are published on PowerDNS servers`);
    return null;
  }
  return deps.fleet.zoneHost(server, ctx, { user: null });
}

/** The domain of another customer's hosting service that holds this zone, or null when the VM may use it. */
async function foreignZone(deps: KvmDeps, svc: LoadedVmService, zone: string): Promise<string | null> {
  const row = await serviceById(deps.db, svc.id);
  return (await foreignDomainHolder(deps.db, zone, row?.clientId ?? null, svc.whmcsServiceId))?.domain ?? null;
}

const oops = (err: unknown) => (err as Error).message.split('\n')[0]!.slice(0, 300);

export function registerVmDnsHandlers(registry: TaskRegistry, deps: KvmDeps): void {
  registerStep(deps, registry, 'kvm.dns', 'Publishes the VM\'s A/AAAA and PTR records in the matching zones of one DNS server; never fails the deployment.', async (ctx, a) => {
    const svc = await loadVmService(deps, ctx);
    const host = await openHost(deps, ctx, a.server);
    if (!host) return { skipped: true };
    const name = svc.plan.spec.hostname;
    const addresses = await serviceAddresses(deps.db, svc.id);
    const fwd: Tally = { ok: 0, err: 0, none: 0 };
    const rev: Tally = { ok: 0, err: 0, none: 0 };
    try {
      const z = await forwardZone(host, name);
      const foreign = z ? await foreignZone(deps, svc, z.zone) : null;
      if (!z) {
        fwd.none++;
        ctx.log(`· fwd — ${host.label} holds no zone for ${name}`);
      } else if (foreign) {
        fwd.err++;
        ctx.log(`· fwd ERR ${name}: zone ${z.zone} is in ${foreign}, the domain of another customer's hosting service; the VM's records are not published there (give the VM a host name in the provider's zone)`);
      } else {
        const want = addresses.map((x) => ({ name: z.rel, type: (x.family === 4 ? 'A' : 'AAAA') as 'A' | 'AAAA', value: x.ip }));
        // Addresses the VM no longer holds leave the name; other records of the name stay.
        const stale = (await host.listRecords(z.zone)).filter((r) => r.name === z.rel && (r.type === 'A' || r.type === 'AAAA') && !want.some((w) => w.type === r.type && w.value === r.value));
        if (stale.length) await host.deleteRecords(z.zone, stale.map((r) => ({ name: r.name, type: r.type as 'A' | 'AAAA', value: r.value })));
        await host.ensureRecords(z.zone, want);
        fwd.ok++;
        ctx.log(`· fwd OK ${z.zone}: ${want.map((w) => `${w.type} ${w.value}`).join(', ')}${stale.length ? `; removed ${stale.map((r) => r.value).join(', ')}` : ''}`);
      }
    } catch (err) {
      fwd.err++;
      ctx.log(`· fwd ERR ${name}: ${oops(err)}`);
    }
    // The customer's own PTR name for an address (the panel's reverse DNS), else the host name.
    const ptr = await wantedPtrNames(deps.db, svc.id);
    for (const x of addresses) {
      const target = ptr.get(x.ip) ?? name;
      try {
        const z = await reverseZone(host, x);
        if (!z) { rev.none++; ctx.log(`· rev — ${host.label} holds no reverse zone for ${x.ip}`); continue; }
        const stale = (await host.listRecords(z.zone)).filter((r) => r.name === z.rel && r.type === 'PTR' && r.value !== target);
        if (stale.length) await host.deleteRecords(z.zone, stale.map((r) => ({ name: r.name, type: 'PTR' as const, value: r.value })));
        await host.ensureRecords(z.zone, [{ name: z.rel, type: 'PTR', value: target }]);
        rev.ok++;
        ctx.log(`· rev OK ${z.zone}: ${x.ip} → ${target}`);
      } catch (err) {
        rev.err++;
        ctx.log(`· rev ERR ${x.ip}: ${oops(err)}`);
      }
    }
    if (fwd.err || rev.err) ctx.log(`DNS on ${host.label} incomplete (${fwd.err + rev.err} error(s)); the deployment goes on, and Verify & Repair publishes the rest`);
    return { fwd, rev };
  }, VM_POLICY);

  registerStep(deps, registry, 'kvm.dns-delete', 'Removes the VM\'s A/AAAA and PTR records from one DNS server, record by record; never fails the terminate.', async (ctx, a) => {
    const svc = await loadVmService(deps, ctx);
    const host = await openHost(deps, ctx, a.server);
    if (!host) return { skipped: true };
    const name = svc.plan.spec.hostname;
    let removed = 0;
    let errors = 0;
    try {
      const z = await forwardZone(host, name);
      const foreign = z ? await foreignZone(deps, svc, z.zone) : null;
      if (z && foreign) {
        ctx.log(`· fwd-del skip ${z.zone}: in ${foreign}, another customer's hosting domain; nothing of it is removed`);
      } else if (z) {
        const n = await host.deleteRecords(z.zone, [{ name: z.rel, type: 'A' }, { name: z.rel, type: 'AAAA' }]);
        removed += n;
        ctx.log(`· fwd-del OK ${z.zone}: ${n} record(s)`);
      }
    } catch (err) {
      errors++;
      ctx.log(`· fwd-del ERR ${name}: ${oops(err)}`);
    }
    const ptr = await wantedPtrNames(deps.db, svc.id);
    for (const x of await serviceAddresses(deps.db, svc.id)) {
      try {
        const z = await reverseZone(host, x);
        if (!z) continue;
        const custom = ptr.get(x.ip);
        const n = await host.deleteRecords(z.zone, [{ name: z.rel, type: 'PTR', value: name }, ...(custom ? [{ name: z.rel, type: 'PTR' as const, value: custom }] : [])]);
        removed += n;
        ctx.log(`· rev-del OK ${z.zone}: ${x.ip}`);
      } catch (err) {
        errors++;
        ctx.log(`· rev-del ERR ${x.ip}: ${oops(err)}`);
      }
    }
    return { removed, errors };
  }, VM_POLICY);
}
