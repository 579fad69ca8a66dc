// The fleet checks of hostbridge doctor: every server reached the way the task handlers reach it
// (FleetAccess: its sealed credential, its pinned host key), one line each. A HestiaCP node is
// probed (who we are, sudo, v-list-sys-info); a PowerDNS server answers its API's server object.
// Nothing is written: an unpinned host key is reported with the key seen, not pinned.
import type { Knex } from 'knex';
import { FleetAccess } from '../fleet/access.ts';
import { HostKeyMismatchError, SudoRefusedError } from '../drivers/hestia/index.ts';
import { RetryableError } from '../common/errors.ts';
import { T } from '../common/tables.ts';
import { fail, ok, reason, skip, warn, within, CheckTimeout, type CheckResult } from './check.ts';

export interface ServerLine { id: number; name: string; driver: string; hostname: string; ip: string; port: number; status: string; credential: string | null }

/** Servers checked at once: enough that a fleet of fifty unreachable nodes takes a few timeouts, not fifty. */
const PARALLEL = 8;

export async function checkFleet(db: Knex, masterKey: Buffer, timeoutMs: number): Promise<CheckResult[]> {
  const servers = (await db(T.servers).orderBy('id').select('id', 'name', 'driver', 'hostname', 'ip', 'port', 'status', 'credential') as ServerLine[])
    .map((s) => ({ ...s, id: Number(s.id), port: Number(s.port) }));
  if (servers.length === 0) return [ok('fleet', 'no servers in the inventory yet (add them with "hostbridge server add" or the infrastructure page)')];
  const fleet = new FleetAccess(db, masterKey, undefined, { pinOnFirstUse: false });
  const results: CheckResult[] = new Array(servers.length);
  try {
    let next = 0;
    const worker = async () => {
      while (next < servers.length) {
        const i = next++;
        results[i] = await checkServer(fleet, servers[i]!, timeoutMs);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, servers.length) }, worker));
  } finally {
    await fleet.close();
  }
  return results;
}

function checkServer(fleet: FleetAccess, s: ServerLine, timeoutMs: number): Promise<CheckResult> {
  const name = `server ${s.name}`;
  const where = `${s.hostname}${s.ip && s.ip !== s.hostname ? ` (${s.ip})` : ''} port ${s.port}`;
  if (s.status === 'disabled') return Promise.resolve(skip(name, `disabled: not checked (${where})`));
  const signal = AbortSignal.timeout(timeoutMs);
  const run = async (): Promise<CheckResult> => {
    if (s.driver === 'powerdns') {
      const { client } = await fleet.powerdns(s.id, { signal });
      const h = await client.health();
      return ok(name, `PowerDNS ${h.version} answers its API at ${where}`);
    }
    const { driver } = await fleet.hestia(s.id, { signal });
    const p = await driver.probe();
    const who = p.isRoot ? 'root' : `uid ${p.uid} with sudo`;
    const hestia = p.sysinfo?.HESTIA ? `HestiaCP ${p.sysinfo.HESTIA}` : 'HestiaCP';
    if (!p.hostKeyPinned) {
      return warn(name, `${hestia} answers at ${where} as ${who}, but its host key is not pinned; it presents ${p.hostKeySha256}`,
        `compare with "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub" on the node, then set host_key_sha256 of server ${s.id} (the infrastructure page, or PUT /v1/servers/${s.id}); the daemon pins it on first use otherwise`);
    }
    if (p.sudo === 'refused') {
      return fail(name, `${where}: connected as uid ${p.uid}, but sudo -n refuses the Hestia commands: ${p.sudoDetail ?? ''}`,
        'connect as root, or give the user a NOPASSWD sudo rule for the Hestia bin directory (docs/fleet.md)');
    }
    return ok(name, `${hestia} answers at ${where} as ${who}, host key pinned`);
  };
  return within(timeoutMs + 2_000, run).catch((err: unknown) => explain(name, s, where, err));
}

export function explain(name: string, s: ServerLine, where: string, err: unknown): CheckResult {
  const msg = reason(err);
  if (err instanceof HostKeyMismatchError) {
    return fail(name, `its host key changed: ${where} presents ${err.actual}, the key pinned is ${err.expected}`,
      `if ${s.name} was reinstalled, check the new key on the node ("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub") and set host_key_sha256 of server ${s.id} to it; if not, something else answers at that address: find out before trusting it`);
  }
  if (/cannot be decrypted with this master key/.test(msg)) {
    return fail(name, `its credential cannot be opened with this master key (see "master key")`, 'use the master key the credential was stored with, or enter the credential again');
  }
  if (err instanceof SudoRefusedError) return fail(name, msg, 'give the user a NOPASSWD sudo rule for the Hestia bin directory, or connect as root');
  // A connection error is read first: its address may hold a port such as 34403 or 401.
  const unreachable = /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|timed out|ENOTFOUND|EAI_AGAIN/.test(msg);
  if (!unreachable && /authentication (methods )?failed|\b401\b|unauthori[sz]ed|\b403\b|forbidden/i.test(msg)) {
    return fail(name, `${where} refuses the stored credential: ${msg}`, s.driver === 'powerdns'
      ? 'check the API key (api-key in pdns.conf) and enter it again' : 'check the user name, password or key and enter them again');
  }
  if (unreachable || err instanceof CheckTimeout || err instanceof RetryableError) {
    return fail(name, `${s.name} is unreachable at ${where}: ${msg}`, s.driver === 'powerdns'
      ? `check that pdns_server runs with its API on (api=yes, webserver-address, webserver-allow-from this host) and that the port is open to this host`
      : `check that the node is up, sshd listens on port ${s.port} and the firewall lets this host in`);
  }
  return fail(name, `${where}: ${msg}`, 'see the message; the server.check task of the infrastructure page tells the same');
}
