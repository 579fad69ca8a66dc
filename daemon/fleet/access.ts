// How task handlers reach a server: its inventory row, its credential unsealed only in memory,
// a HestiaCP driver on the daemon's shared SSH pool or a PowerDNS client, or the server's zone
// host (the DNS contract, whichever the backend). A host key seen for the first time is pinned in
// the inventory (trust on first use, logged).
import type { Knex } from 'knex';
import { decryptSecret } from '../crypto/secretbox.ts';
import { TerminalError } from '../common/errors.ts';
import { globalMasker } from '../log/mask.ts';
import type { Logger } from '../log/logger.ts';
import { HestiaDriver, SshPool, type DriverIO } from '../drivers/hestia/index.ts';
import { PowerDnsClient, type PowerDnsIO } from '../drivers/powerdns/index.ts';
import { T } from '../common/tables.ts';
import type { ZoneHost } from '../dns/zone-host.ts';
import { HestiaZoneHost, type HestiaZoneHostOptions } from '../dns/hestia-zone-host.ts';
import { PowerDnsZoneHost } from '../dns/powerdns-zone-host.ts';
import { ServerRows, inventoryChanged } from './inventory-reuse.ts';

export interface ZoneHostOptions {
  /** The HestiaCP user whose zones these are (a service's DNS user, a vanity parent's dns_user); PowerDNS has no accounts. */
  user: string | null;
  /** How to create that user when it does not exist yet (HestiaCP only; see HestiaZoneHostOptions.owner). */
  owner?: HestiaZoneHostOptions['owner'];
}

export interface ServerRow {
  id: number;
  name: string;
  driver: 'hestiacp' | 'powerdns';
  hostname: string;
  ip: string;
  port: number;
  username: string | null;
  auth_method: string;
  credential: string | null;
  host_key_sha256: string | null;
  hestia_bin: string | null;
  status: string;
}

export class FleetAccess {
  readonly pool: SshPool;
  private readonly rows: ServerRows;

  /** opts.pinOnFirstUse false: an unpinned host key is only reported (SessionInfo), never stored (hostbridge doctor). */
  constructor(private readonly db: Knex, private readonly masterKey: Buffer, private readonly logger?: Logger, opts: { pinOnFirstUse?: boolean } = {}) {
    this.rows = new ServerRows(db);
    this.pool = new SshPool(opts.pinOnFirstUse === false ? {} : {
      onUnpinnedHostKey: (serverId, host, fingerprint) => {
        this.logger?.warn(`pinned the host key of server ${serverId} (${host}) on first use: ${fingerprint}`);
        void this.db(T.servers).where('id', Number(serverId)).whereNull('host_key_sha256').update({ host_key_sha256: fingerprint })
          .then(inventoryChanged)
          .catch((err) => this.logger?.warn(`could not store the host key of server ${serverId}: ${(err as Error).message}`));
      },
    });
  }

  /** The server's inventory row (reused for a moment: fleet/inventory-reuse.ts). */
  async server(id: number): Promise<ServerRow> {
    const row = await this.rows.get(id);
    return { ...row, id: Number(row.id), port: Number(row.port) } as ServerRow;
  }

  private unseal(s: ServerRow): string {
    if (!s.credential) throw new TerminalError(`server ${s.name} has no credential stored`);
    const secret = decryptSecret(this.masterKey, s.credential);
    globalMasker.add(secret);
    return secret;
  }

  async hestia(id: number, io: DriverIO): Promise<{ driver: HestiaDriver; server: ServerRow }> {
    return this.hestiaOn(await this.server(id), io);
  }

  private hestiaOn(s: ServerRow, io: DriverIO): { driver: HestiaDriver; server: ServerRow } {
    if (s.driver !== 'hestiacp') throw new TerminalError(`server ${s.name} is a ${s.driver} server, not HestiaCP`);
    const secret = this.unseal(s);
    io.secret?.(secret);
    const driver = new HestiaDriver(this.pool, {
      id: String(s.id), host: s.hostname, port: s.port, username: s.username ?? 'root',
      ...(s.auth_method === 'key' ? { privateKey: secret } : { password: secret }),
      hostKeySha256: s.host_key_sha256, binDir: s.hestia_bin ?? undefined,
    }, io);
    return { driver, server: s };
  }

  async powerdns(id: number, io: PowerDnsIO): Promise<{ client: PowerDnsClient; server: ServerRow }> {
    return this.powerdnsOn(await this.server(id), io);
  }

  private powerdnsOn(s: ServerRow, io: PowerDnsIO): { client: PowerDnsClient; server: ServerRow } {
    if (s.driver !== 'powerdns') throw new TerminalError(`server ${s.name} is a ${s.driver} server, not PowerDNS`);
    const apiKey = this.unseal(s);
    io.secret?.(apiKey);
    const host = s.hostname.includes(':') ? `[${s.hostname}]` : s.hostname;
    return { client: new PowerDnsClient({ url: `http://${host}:${s.port}`, apiKey }, io), server: s };
  }

  /** The DNS zone host of a server: its zones behind the one contract, whatever the server's driver. */
  async zoneHost(id: number, io: DriverIO & PowerDnsIO, opts: ZoneHostOptions): Promise<ZoneHost> {
    // One read of the server's row serves both the choice of backend and its connection.
    const s = await this.server(id);
    if (s.driver === 'powerdns') return new PowerDnsZoneHost(this.powerdnsOn(s, io).client, s.name);
    if (!opts.user) throw new TerminalError(`server ${s.name} is a HestiaCP node, where a zone belongs to a Hestia user, and none is set for it (a vanity parent needs its dns_user)`);
    const { driver } = this.hestiaOn(s, io);
    return new HestiaZoneHost(driver, { user: opts.user, nodeIp: s.ip, server: s.name, ...(opts.owner ? { owner: opts.owner } : {}) });
  }

  async close(): Promise<void> {
    await this.pool.closeAll();
  }
}
