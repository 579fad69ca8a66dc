// The Proxmox VE driver: a typed HTTPS client of the cluster API, certificate-pinned, with
// failover between the cluster's nodes and classified errors (docs/drivers.md, "Proxmox VE").
export { ProxmoxClient, encodeParams } from './client.ts';
export type { HttpMethod, Params, ProxmoxClientOptions, ProxmoxCredentials, ProxmoxEndpoint, ProxmoxIO, PveBackup, PveNode, PveStorage, PveVmLocation, PveVmStatus, TaskResult } from './types.ts';
export {
  ProxmoxApiError, ProxmoxFingerprintError, ProxmoxRetryableError, ProxmoxTerminalError,
  isAlreadyExists, isAlreadyRunning, isLocked, isMissingVm, paramError,
} from './errors.ts';
export type { ProxmoxErrorInfo } from './errors.ts';
export { parseUpid, isUpid } from './upid.ts';
export type { Upid } from './upid.ts';
export { encodeSshKeys, decodeSshKeys, checkSshKeys } from './sshkeys.ts';
export { fetchCertificate, normaliseFingerprint } from './tls.ts';
export { cleanCidr } from './cidr.ts';
export type { CertificateInfo } from './tls.ts';
export { checkCredentials, TICKET_RENEW_MS } from './auth.ts';
export { warningsOf } from './tasks.ts';
