// How task handlers reach a server: its inventory row, its credential unsealed only in memory,
// a HestiaCP driver on the daemon's shared SSH pool or a PowerDNS client. A host key seen for the
// first time is pinned in the inventory (trust on first use, logged).
import type { Knex } from 'knex';
import { decryptSecret } from '../crypto/secretbox.ts';
import { TerminalError } from '../common/errors.ts';
import { globalMasker } from '../log/mask.ts';
import type { Logger } from '../log/logger.ts';
import { HestiaDriver, SshPool, type DriverIO } from '../drivers/hestia/index.ts';
import { PowerDnsClient, type PowerDnsIO } from '../drivers/powerdns/index.ts';
import { T } from '../common/tables.ts';

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

  constructor(private readonly db: Knex, private readonly masterKey: Buffer, private readonly logger?: Logger) {
    this.pool = new SshPool({
      onUnpinnedHostKey: (serverId, host, fingerprint) => {
        this.logger?.warn(`pinned the host key of server ${serverId} (${host}) on first use: ${fingerprint}`);
        void this.db(T.servers).where('id', Number(serverId)).whereNull('host_key_sha256').update({ host_key_sha256: fingerprint })
          .catch((err) => this.logger?.warn(`could not store the host key of server ${serverId}: ${(err as Error).message}`));
      },
    });
  }

  async server(id: number): Promise<ServerRow> {
    const row = await this.db(T.servers).where('id', id).first();
    if (!row) throw new TerminalError(`server ${id} is no longer in the inventory`);
    return { ...row, id: Number(row.id), port: Number(row.port) } as ServerRow;
  }

  private unseal(s: ServerRow): string {
    if (!s.credential) throw new TerminalError(`server ${s.name} has no credential stored`);
    const secret = decryptSecret(this.masterKey, s.credential);
    globalMasker.add(secret);
    return secret;
  }

  async hestia(id: number, io: DriverIO): Promise<{ driver: HestiaDriver; server: ServerRow }> {
    const s = await this.server(id);
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
    const s = await this.server(id);
    if (s.driver !== 'powerdns') throw new TerminalError(`server ${s.name} is a ${s.driver} server, not PowerDNS`);
    const apiKey = this.unseal(s);
    io.secret?.(apiKey);
    const host = s.hostname.includes(':') ? `[${s.hostname}]` : s.hostname;
    return { client: new PowerDnsClient({ url: `http://${host}:${s.port}`, apiKey }, io), server: s };
  }

  async close(): Promise<void> {
    await this.pool.closeAll();
  }
}
