// The emulator's public option and state types (re-exported by index.ts).

export interface EmulatorNodeSpec { name: string; maxcpu?: number; maxmemMb?: number; online?: boolean }
export interface EmulatorStorageSpec {
  storage: string;
  type: 'lvmthin' | 'dir' | 'zfspool' | 'nfs' | 'rbd';
  /** e.g. 'images,rootdir' or 'iso,vztmpl,backup' */
  content: string;
  shared?: boolean;
  /** default all */
  nodes?: string[];
  totalGb?: number;
}
export interface EmulatorTemplateSpec { vmid: number; node: string; name: string; storage: string; diskGb?: number; cloudinit?: boolean }

export type FaultKind = 'refuse' | '500' | '595' | 'lock-timeout' | 'task-fail' | 'stall';
export interface FaultSpec {
  method?: string;
  /** Matched against the request path without the query, e.g. /api2/json/nodes/pve1/qemu/100/clone. */
  path: RegExp;
  kind: FaultKind;
  count?: number;
  message?: string;
  /** stall only: how long to hold the request before dropping it (default: the emulator's stallMs). */
  ms?: number;
}

export interface ProxmoxEmulatorOptions {
  nodes?: EmulatorNodeSpec[];
  storages?: EmulatorStorageSpec[];
  templates?: EmulatorTemplateSpec[];
  /** Default one: { id: 'hostbridge@pve!deploy', secret: <random uuid> }. A `readOnly` token gets 403 on every change. */
  tokens?: Array<{ id: string; secret: string; readOnly?: boolean }>;
  users?: Array<{ username: string; password: string }>;
  latencyMs?: number;
  taskMs?: Partial<Record<string, number>>;
  host?: string;
  port?: number;
  /** Every 401 is answered after this delay, as pveproxy does (default 3000 ms). */
  authFailDelayMs?: number;
  /** How long a 'stall' fault holds a request before dropping the connection (default 35000 ms). */
  stallMs?: number;
  /** How long a config change waits for a VM's flock held by a running task (PVE: 10 s; default 10000). */
  flockWaitMs?: number;
  /**
   * How long a clone waits for its storage's allocation lock while other clones allocate (default
   * 60000). Each allocation holds it for taskMs.alloc (default 10 ms): parallel clones take turns.
   */
  storageLockWaitMs?: number;
}

export interface EmulatedVm {
  vmid: number;
  node: string;
  template: boolean;
  status: 'running' | 'stopped';
  lock: string | null;
  config: Record<string, string | number>;
  firewall: { options: Record<string, string | number>; ipsets: Map<string, Array<{ cidr: string; comment?: string; nomatch?: boolean }>> };
  snapshots: string[];
}
