// The shapes the Proxmox driver takes and returns. Numbers Proxmox sends as strings (nextid,
// memory) are numbers here; field names stay Proxmox's so the reference reads across.

export interface ProxmoxEndpoint {
  host: string;
  /** Default 8006 (pveproxy). */
  port: number;
  /** This endpoint's own pin when the cluster's nodes present different certificates; default the client's. */
  fingerprintSha256?: string;
}

export type ProxmoxCredentials =
  | { kind: 'token'; /** user@realm!name */ tokenId: string; secret: string }
  | { kind: 'password'; /** user@realm, e.g. root@pam */ username: string; password: string };

/** The part of a TaskContext the driver uses: where lines go and which values to mask. */
export interface ProxmoxIO {
  log?(line: string): void;
  secret?(value: string): void;
}

export interface ProxmoxClientOptions {
  /** The cluster's nodes in order of preference: a connection failure moves to the next one. */
  endpoints: ProxmoxEndpoint[];
  /** SHA-256 of the node certificate (DER), as confirmed at registration: `AB:CD:…`. */
  fingerprintSha256: string;
  credentials: ProxmoxCredentials;
  /** Per request, default 45 000 (pveproxy gives up on a forwarded call after 30 s). */
  timeoutMs?: number;
  /** The longest wait between two task status polls, default 1000 (the first comes after 50 ms, and the waits grow by 25 ms: pollDelay in tasks.ts). */
  pollMs?: number;
  io?: ProxmoxIO;
  /** Sockets per endpoint (default 4; pveproxy runs 3 workers). */
  maxSockets?: number;
}

export type Params = Record<string, string | number | boolean | undefined>;
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface TaskResult {
  upid: string;
  /** `OK` or `WARNINGS: <n>`. */
  exitstatus: string;
  warnings: number;
  /** Every line of the task log, `TASK OK` included. */
  log: string[];
}

export interface PveNode {
  node: string;
  status: 'online' | 'offline' | 'unknown';
  /** 0..1; the stats are 0 for an offline node (Proxmox leaves them out). */
  cpu: number;
  maxcpu: number;
  mem: number;
  maxmem: number;
  disk: number;
  maxdisk: number;
  uptime: number;
  ssl_fingerprint?: string;
}

export interface PveStorage {
  storage: string;
  type: string;
  /** `content` split: images, rootdir, iso, vztmpl, backup, snippets… */
  content: string[];
  enabled: boolean;
  active: boolean;
  shared: boolean;
  /** Bytes. */
  total: number;
  used: number;
  avail: number;
}

export interface PveVmStatus {
  vmid: number;
  name?: string;
  status: 'running' | 'stopped' | string;
  qmpstatus?: string;
  uptime: number;
  cpus: number;
  cpu: number;
  mem: number;
  maxmem: number;
  disk: number;
  maxdisk: number;
  netin: number;
  netout: number;
  lock?: string;
  tags?: string;
  haManaged: boolean;
}

export interface PveVmLocation {
  node: string;
  status: string;
  name?: string;
  template?: number;
  lock?: string;
}

export interface PveBackup {
  volid: string;
  size?: number;
  ctime?: number;
  notes?: string;
  protected?: boolean;
}
