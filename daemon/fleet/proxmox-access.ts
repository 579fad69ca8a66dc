// How the deploy steps reach a Proxmox VE cluster: its inventory view and a client on its
// endpoints (in failover order, the certificate pinned), with the credential unsealed only in
// memory and handed to the masker and to the caller's io.secret (a task's own masker).
import type { Knex } from 'knex';
import type { ProxmoxClient } from '../drivers/proxmox/index.ts';
import { clientFor, clusterAccess, getCluster, type ClusterView, type ProxmoxIO } from './proxmox-clusters.ts';

export type { ProxmoxIO } from './proxmox-clusters.ts';

export async function proxmoxClient(db: Knex, masterKey: Buffer, clusterId: number, io: ProxmoxIO = {}): Promise<{ client: ProxmoxClient; cluster: ClusterView }> {
  const cluster = await getCluster(db, clusterId);
  const { access, secret } = await clusterAccess(db, masterKey, clusterId);
  return { client: clientFor(access, secret, io), cluster };
}
