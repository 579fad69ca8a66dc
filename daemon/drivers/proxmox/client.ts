// The Proxmox VE API client the task handlers use: one call per method, every request logged as
// one line (method, path, parameter names, status, time) with secrets masked, every failure
// classified (errors.ts). Asynchronous calls return a UPID; the typed methods wait for the task
// (waitTask) and resolve with its result, so a method that returns has done its work.
import { InputError } from '../../common/errors.ts';
import { Masker, globalMasker } from '../../log/mask.ts';
import { Auth } from './auth.ts';
import { cleanCidr } from './cidr.ts';
import { httpError, ProxmoxRetryableError, ProxmoxTerminalError } from './errors.ts';
import { Transport, type Answer } from './http.ts';
import * as norm from './normalise.ts';
import { waitTask } from './tasks.ts';
import { normaliseFingerprint, PinnedAgent } from './tls.ts';
import { isUpid } from './upid.ts';
import * as check from './validate.ts';
import type { HttpMethod, Params, ProxmoxClientOptions, ProxmoxEndpoint, PveBackup, PveNode, PveStorage, PveVmLocation, PveVmStatus, TaskResult } from './types.ts';

const API = '/api2/json';
const DEFAULT_TIMEOUT_MS = 45_000;
const DEFAULT_TASK_TIMEOUT_MS = 15 * 60_000;

/** URLSearchParams of the defined params; booleans as 1/0 (Proxmox's booleans). */
export function encodeParams(params: Params = {}): URLSearchParams {
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    if (typeof v === 'boolean') out.append(k, v ? '1' : '0');
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new InputError(k, `must be a finite number, not ${v}`);
      out.append(k, String(v));
    } else out.append(k, String(v));
  }
  return out;
}

const seg = encodeURIComponent;

interface Envelope { data?: unknown; message?: unknown; errors?: unknown }

export class ProxmoxClient {
  readonly endpoints: readonly ProxmoxEndpoint[];
  readonly fingerprintSha256: string;
  private readonly masker = new Masker(globalMasker);
  private readonly agent: PinnedAgent;
  private readonly transport: Transport;
  private readonly auth: Auth;
  private readonly pollMs: number;

  constructor(private readonly opts: ProxmoxClientOptions & { /** tests: the clock the ticket's age is read from */ clock?: () => number }) {
    if (!opts || !Array.isArray(opts.endpoints) || opts.endpoints.length === 0) throw new InputError('endpoints', 'at least one endpoint (host and port) is required');
    this.fingerprintSha256 = normaliseFingerprint(opts.fingerprintSha256);
    this.endpoints = opts.endpoints.map((e, i) => {
      if (!e || typeof e.host !== 'string' || e.host.trim() === '' || /[\s/]/.test(e.host)) throw new InputError(`endpoints.${i}.host`, 'must be a host name or IP address');
      const port = e.port ?? 8006;
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InputError(`endpoints.${i}.port`, 'must be an integer between 1 and 65535');
      const ep: ProxmoxEndpoint = { host: e.host.trim(), port };
      if (e.fingerprintSha256 !== undefined) ep.fingerprintSha256 = normaliseFingerprint(e.fingerprintSha256, `endpoints.${i}.fingerprintSha256`);
      return ep;
    });
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new InputError('timeoutMs', 'must be a positive integer');
    this.pollMs = opts.pollMs ?? 1000;
    if (!Number.isInteger(this.pollMs) || this.pollMs < 1) throw new InputError('pollMs', 'must be a positive integer');
    // Secrets are known to the maskers before the first byte is sent.
    this.auth = new Auth(opts.credentials, (p) => this.call('POST', '/access/ticket', p, {}), (s) => this.secret(s), opts.clock);
    const pins = new Map(this.endpoints.filter((e) => e.fingerprintSha256).map((e) => [`${e.host}:${e.port}`, e.fingerprintSha256!]));
    this.agent = new PinnedAgent({ pins, fallback: this.fingerprintSha256, maxSockets: opts.maxSockets ?? 4, connectTimeoutMs: Math.min(10_000, timeoutMs) });
    this.transport = new Transport(this.endpoints, this.agent, timeoutMs, (l) => this.log(l));
  }

  // --- plumbing ----------------------------------------------------------------------------

  private secret(value: string): void {
    this.masker.add(value);
    // Long-lived secrets (token secret, password) are process-wide; tickets change every login
    // and stay with this client and its task, so the global masker does not grow without end.
    if (value === this.credentialSecret()) globalMasker.add(value);
    this.opts.io?.secret?.(value);
  }

  private credentialSecret(): string {
    const c = this.opts.credentials;
    return c.kind === 'token' ? c.secret : c.password;
  }

  private log(line: string): void {
    this.opts.io?.log?.(this.masker.mask(line));
  }

  /** Frees the HTTPS agent's sockets. */
  close(): void {
    this.agent.destroy();
  }

  /** One API call: `path` below /api2/json (e.g. `/nodes/pve1/qemu`); params as query (GET, DELETE) or form body. Returns `data`. */
  async request<T = unknown>(method: HttpMethod, path: string, params?: Params): Promise<T> {
    if (method !== 'GET' && method !== 'POST' && method !== 'PUT' && method !== 'DELETE') throw new InputError('method', 'must be GET, POST, PUT or DELETE');
    for (let attempt = 0; ; attempt++) {
      const headers = await this.auth.headers(method);
      try {
        return (await this.call(method, path, params, headers)) as T;
      } catch (err) {
        // A ticket the server no longer accepts: log in again, once.
        if (attempt === 0 && err instanceof ProxmoxTerminalError && err.status === 401 && this.auth.invalidate()) {
          this.log('PVE the ticket was refused; logging in again');
          continue;
        }
        throw err;
      }
    }
  }

  private async call(method: HttpMethod, path: string, params: Params | undefined, headers: Record<string, string>): Promise<unknown> {
    if (typeof path !== 'string' || !path.startsWith('/') || path.includes('..') || /[\s#]/.test(path)) throw new InputError('path', `"${String(path).slice(0, 120)}" is not an API path`);
    const form = encodeParams(params);
    const query = form.toString();
    const hasBody = method === 'POST' || method === 'PUT';
    const target = API + path + (!hasBody && query ? (path.includes('?') ? '&' : '?') + query : '');
    const what = `${method} ${path}${!hasBody && query ? '?' + query : ''}`;
    const names = hasBody && params ? Object.keys(params).filter((k) => params[k] !== undefined) : [];
    const answer = await this.transport.send(method, target, hasBody ? query : undefined, {
      ...headers,
      ...(hasBody ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
    }, this.masker.mask(what));
    this.log(`PVE ${what}${names.length ? ` {${names.join(',')}}` : ''} → ${answer.status} ${answer.ms} ms [${answer.endpoint.host}:${answer.endpoint.port}]`);
    return this.parse(answer, this.masker.mask(what));
  }

  private parse(answer: Answer, what: string): unknown {
    let json: Envelope | null = null;
    try {
      json = answer.body.trim() === '' ? null : (JSON.parse(answer.body) as Envelope);
    } catch {
      json = null;
    }
    if (answer.status >= 200 && answer.status < 300) {
      if (!json || typeof json !== 'object') {
        throw new ProxmoxRetryableError(`Proxmox ${what}: the answer is not the JSON envelope`, { status: answer.status, proxmoxMessage: 'not JSON', call: what });
      }
      return json.data ?? null;
    }
    const raw = typeof json?.message === 'string' && json.message.trim() !== '' ? json.message : answer.statusMessage;
    const message = this.masker.mask(raw.replace(/\s+$/, ''));
    const errors: Record<string, string> = {};
    if (json?.errors && typeof json.errors === 'object') {
      for (const [k, v] of Object.entries(json.errors as Record<string, unknown>)) errors[k] = this.masker.mask(String(v).replace(/\s+$/, ''));
    }
    let hint = '';
    if (answer.status === 401) hint = this.auth.kind === 'token' ? ' (check the API token id and secret)' : ' (check the user name and password)';
    if (answer.status === 403) hint = ' (the token or user lacks this privilege; a privilege-separated token has only its own ACLs)';
    throw httpError(answer.status, message, errors, what, hint);
  }

  // --- tasks -------------------------------------------------------------------------------

  /** Starts an asynchronous call and returns its UPID (anything else is an error: e.g. vzdump's "OK" for a VM on another node). */
  async startTask(method: HttpMethod, path: string, params?: Params): Promise<string> {
    const data = await this.request<unknown>(method, path, params);
    if (!isUpid(data)) {
      throw new ProxmoxTerminalError(`Proxmox ${method} ${path} answered ${JSON.stringify(data)?.slice(0, 120)} instead of a task id`, { status: 200, proxmoxMessage: String(data), call: `${method} ${path}` });
    }
    this.log(`PVE task ${data}`);
    return data;
  }

  /** Polls the task to its end; resolves on OK or WARNINGS (counted), throws a classified error otherwise. */
  waitTask(upid: string, opts: { timeoutMs?: number } = {}): Promise<TaskResult> {
    return waitTask(<T>(path: string, params?: Params) => this.request<T>('GET', path, params), upid, {
      timeoutMs: opts.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS,
      pollMs: this.pollMs,
      log: (l) => this.log(l),
    });
  }

  private async runTask(method: HttpMethod, path: string, params?: Params): Promise<TaskResult> {
    return this.waitTask(await this.startTask(method, path, params));
  }

  /** For calls that answer a UPID or null (finished synchronously). */
  private async maybeTask(method: HttpMethod, path: string, params?: Params): Promise<TaskResult | null> {
    const data = await this.request<unknown>(method, path, params);
    if (data === null || data === undefined) return null;
    if (!isUpid(data)) {
      throw new ProxmoxTerminalError(`Proxmox ${method} ${path} answered ${JSON.stringify(data)?.slice(0, 120)} instead of a task id or null`, { status: 200, proxmoxMessage: String(data), call: `${method} ${path}` });
    }
    this.log(`PVE task ${data}`);
    return this.waitTask(data);
  }

  private vmPath(node: string, vmid: number, rest = ''): string {
    return `/nodes/${seg(check.node(node))}/qemu/${check.vmid(vmid)}${rest}`;
  }

  // --- cluster -----------------------------------------------------------------------------

  async version(): Promise<{ version: string; release: string; repoid: string }> {
    const o = norm.object(await this.request('GET', '/version'), 'GET /version');
    return { version: String(o.version ?? ''), release: String(o.release ?? ''), repoid: String(o.repoid ?? '') };
  }

  async nodes(): Promise<PveNode[]> {
    return norm.list(await this.request('GET', '/nodes'), 'GET /nodes').map(norm.pveNode).sort((a, b) => a.node.localeCompare(b.node));
  }

  async resources(type: 'vm' | 'node' | 'storage'): Promise<Record<string, unknown>[]> {
    if (type !== 'vm' && type !== 'node' && type !== 'storage') throw new InputError('type', "must be 'vm', 'node' or 'storage'");
    return norm.list(await this.request('GET', '/cluster/resources', { type }), 'GET /cluster/resources');
  }

  /** Where a VMID lives now (one cluster-wide call), or null when no guest has it. */
  async findVm(vmid: number): Promise<PveVmLocation | null> {
    check.vmid(vmid);
    const hit = (await this.resources('vm')).find((r) => norm.num(r.vmid, -1) === vmid && (r.type === undefined || r.type === 'qemu'));
    return hit ? norm.vmLocation(hit) : null;
  }

  /**
   * The next free VMID; with `vmid`, that VMID when it is free. A taken one is an error for
   * which isAlreadyExists(err) is true (400, errors.vmid "VM N already exists"). Nothing is
   * reserved: the clone's own "already exists" check is the real guard.
   */
  async nextId(vmid?: number): Promise<number> {
    if (vmid !== undefined) check.vmid(vmid);
    return norm.vmidOf(await this.request('GET', '/cluster/nextid', { vmid }), 'GET /cluster/nextid');
  }

  async storages(node: string, content?: string): Promise<PveStorage[]> {
    if (content !== undefined && !/^[a-z]+(,[a-z]+)*$/.test(content)) throw new InputError('content', 'must be a content type such as images or backup');
    const path = `/nodes/${seg(check.node(node))}/storage`;
    return norm.list(await this.request('GET', path, { content }), `GET ${path}`).map(norm.pveStorage);
  }

  /** The node's Linux bridges (vmbr0, …), sorted. */
  async bridges(node: string): Promise<string[]> {
    const path = `/nodes/${seg(check.node(node))}/network`;
    return norm.list(await this.request('GET', path, { type: 'bridge' }), `GET ${path}`)
      .filter((i) => i.type === undefined || i.type === 'bridge' || i.type === 'OVSBridge')
      .map((i) => String(i.iface ?? ''))
      .filter(Boolean)
      .sort();
  }

  // --- one VM ------------------------------------------------------------------------------

  /** The VM's config (`current: true` leaves out pending values); `memory` as a number of MiB. */
  async vmConfig(node: string, vmid: number, opts: { current?: boolean } = {}): Promise<Record<string, string | number>> {
    const path = this.vmPath(node, vmid, '/config');
    return norm.vmConfig(norm.object(await this.request('GET', path, { current: opts.current ? true : undefined }), `GET ${path}`));
  }

  /**
   * Changes config keys. By default POST (asynchronous; waits for the task, or null when the
   * server finished it at once); `sync: true` uses PUT and returns null. sshkeys must already be
   * encodeSshKeys()'d: the form body adds the outer layer.
   */
  async updateConfig(node: string, vmid: number, params: Record<string, string | number | boolean>, opts: { sync?: boolean } = {}): Promise<TaskResult | null> {
    const path = this.vmPath(node, vmid, '/config');
    if (!params || Object.keys(params).length === 0) throw new InputError('params', 'no config key to change');
    if (opts.sync) {
      await this.request('PUT', path, params);
      return null;
    }
    return this.maybeTask('POST', path, params);
  }

  async vmStatus(node: string, vmid: number): Promise<PveVmStatus> {
    const path = this.vmPath(node, vmid, '/status/current');
    return norm.vmStatus(norm.object(await this.request('GET', path), `GET ${path}`), vmid);
  }

  clone(node: string, vmid: number, params: { newid: number; name?: string; description?: string; full?: boolean; storage?: string; format?: string; target?: string; pool?: string }): Promise<TaskResult> {
    check.vmid(params?.newid, 'newid');
    if (params.storage !== undefined) check.storage(params.storage);
    if (params.target !== undefined) check.node(params.target, 'target');
    if (params.format !== undefined && !['raw', 'qcow2', 'vmdk'].includes(params.format)) throw new InputError('format', 'must be raw, qcow2 or vmdk');
    if (params.name !== undefined && !/^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(params.name)) throw new InputError('name', `"${params.name.slice(0, 80)}" is not a DNS name`);
    return this.runTask('POST', this.vmPath(node, vmid, '/clone'), { ...params });
  }

  migrate(node: string, vmid: number, params: { target: string; online?: boolean; targetstorage?: string; 'with-local-disks'?: boolean }): Promise<TaskResult> {
    check.node(params?.target, 'target');
    if (params.target === node) throw new InputError('target', `the VM is already on ${node}`);
    if (params.targetstorage !== undefined && !/^[A-Za-z0-9\-_.:,]+$/.test(params.targetstorage)) throw new InputError('targetstorage', 'must be a storage id or a map src:dst,…');
    return this.runTask('POST', this.vmPath(node, vmid, '/migrate'), { ...params });
  }

  /** Grows a disk (`+10G`, or an absolute `32G`). A task since PVE 8; null when the server answered synchronously (PVE < 8). */
  resize(node: string, vmid: number, disk: string, size: string): Promise<TaskResult | null> {
    const path = this.vmPath(node, vmid, '/resize');
    return this.maybeTask('PUT', path, { disk: check.disk(disk), size: check.size(size) });
  }

  start(node: string, vmid: number): Promise<TaskResult> {
    return this.runTask('POST', this.vmPath(node, vmid, '/status/start'));
  }

  /** Hard stop; a stopped VM is a successful no-op. */
  stop(node: string, vmid: number, opts: { timeout?: number } = {}): Promise<TaskResult> {
    return this.runTask('POST', this.vmPath(node, vmid, '/status/stop'), { timeout: check.positiveInt(opts.timeout, 'timeout') });
  }

  /** ACPI shutdown; without forceStop a guest that ignores it ends the task with "got timeout" (retryable). */
  shutdown(node: string, vmid: number, opts: { timeout?: number; forceStop?: boolean } = {}): Promise<TaskResult> {
    return this.runTask('POST', this.vmPath(node, vmid, '/status/shutdown'), { timeout: check.positiveInt(opts.timeout, 'timeout'), forceStop: opts.forceStop });
  }

  /**
   * Destroys a stopped VM. purge (default true) also drops it from backup/replication jobs and
   * HA; destroyUnreferencedDisks (default true: PVE ≥ 7 defaults to 0) removes disks the config
   * does not name. Backups are not removed (listBackups/deleteVolume).
   */
  destroy(node: string, vmid: number, opts: { purge?: boolean; destroyUnreferencedDisks?: boolean } = {}): Promise<TaskResult> {
    return this.runTask('DELETE', this.vmPath(node, vmid), { purge: opts.purge ?? true, 'destroy-unreferenced-disks': opts.destroyUnreferencedDisks ?? true });
  }

  // --- firewall ----------------------------------------------------------------------------

  async firewallOptions(node: string, vmid: number): Promise<Record<string, string | number>> {
    const path = this.vmPath(node, vmid, '/firewall/options');
    return norm.vmConfig(norm.object(await this.request('GET', path), `GET ${path}`));
  }

  async setFirewallOptions(node: string, vmid: number, options: Record<string, string | number>): Promise<void> {
    if (!options || Object.keys(options).length === 0) throw new InputError('options', 'no firewall option to set');
    await this.request('PUT', this.vmPath(node, vmid, '/firewall/options'), options);
  }

  async ipsets(node: string, vmid: number): Promise<string[]> {
    const path = this.vmPath(node, vmid, '/firewall/ipset');
    return norm.list(await this.request('GET', path), `GET ${path}`).map((s) => String(s.name ?? '')).filter(Boolean).sort();
  }

  /** The set's addresses as Proxmox stores them (see cleanCidr: `192.0.2.10`, not `192.0.2.10/32`). */
  async ipsetEntries(node: string, vmid: number, name: string): Promise<Array<{ cidr: string; comment?: string }>> {
    const path = this.vmPath(node, vmid, `/firewall/ipset/${seg(check.ipsetName(name))}`);
    return norm.list(await this.request('GET', path), `GET ${path}`).map((e) => {
      const entry: { cidr: string; comment?: string } = { cidr: String(e.cidr ?? '') };
      if (typeof e.comment === 'string' && e.comment !== '') entry.comment = e.comment;
      return entry;
    });
  }

  /** A duplicate is an error for which isAlreadyExists(err) is true. */
  async createIpset(node: string, vmid: number, name: string, comment?: string): Promise<void> {
    await this.request('POST', this.vmPath(node, vmid, '/firewall/ipset'), { name: check.ipsetName(name), comment });
  }

  /** A duplicate address is an error for which isAlreadyExists(err) is true. */
  async addIpsetEntry(node: string, vmid: number, name: string, cidr: string, comment?: string): Promise<void> {
    await this.request('POST', this.vmPath(node, vmid, `/firewall/ipset/${seg(check.ipsetName(name))}`), { cidr: check.cidr(cidr), comment });
  }

  /** Removes an address in any spelling (it is sent in the stored form: cleanCidr); a missing one is a no-op. */
  async removeIpsetEntry(node: string, vmid: number, name: string, cidr: string): Promise<void> {
    await this.request('DELETE', this.vmPath(node, vmid, `/firewall/ipset/${seg(check.ipsetName(name))}/${seg(cleanCidr(cidr))}`));
  }

  // --- backups -----------------------------------------------------------------------------

  /** The VM's backup archives on one storage, oldest first. */
  async listBackups(node: string, storage: string, vmid: number): Promise<PveBackup[]> {
    const path = `/nodes/${seg(check.node(node))}/storage/${seg(check.storage(storage))}/content`;
    check.vmid(vmid);
    return norm.list(await this.request('GET', path, { content: 'backup', vmid }), `GET ${path}`)
      .filter((b) => b.vmid === undefined || norm.num(b.vmid, -1) === vmid)
      .map(norm.backup)
      .sort((a, b) => (a.ctime ?? 0) - (b.ctime ?? 0));
  }

  /**
   * Deletes a volume (a backup archive). The server is asked to wait up to 5 s itself (`delay`,
   * null when done), then the `imgdel` task is followed to its end.
   */
  async deleteVolume(node: string, storage: string, volid: string): Promise<void> {
    const path = `/nodes/${seg(check.node(node))}/storage/${seg(check.storage(storage))}/content/${seg(check.volid(volid))}`;
    await this.maybeTask('DELETE', path, { delay: 5 });
  }

  // --- snapshots (the customer's VM panel) --------------------------------------------------

  /**
   * A snapshot name as qemu-server takes it (pve-snapshot-name: format pve-configid, at most 40
   * characters — a letter, then letters, digits, `_` or `-`; `current` and `pending` are reserved).
   */
  private snapname(name: string, field = 'snapname'): string {
    if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]{1,39}$/.test(name) || /^(current|pending|vmstate)$/i.test(name)) {
      throw new InputError(field, `"${String(name).slice(0, 60)}" is not a snapshot name`);
    }
    return name;
  }

  /** The VM's snapshots, oldest first; the `current` pseudo-entry (the VM itself) is left out. */
  async snapshots(node: string, vmid: number): Promise<Array<{ name: string; snaptime: number | null; description: string; vmstate: boolean; parent: string | null }>> {
    const path = this.vmPath(node, vmid, '/snapshot');
    return norm.list(await this.request('GET', path), `GET ${path}`)
      .filter((s) => typeof s.name === 'string' && s.name !== 'current')
      .map((s) => ({
        name: String(s.name), snaptime: s.snaptime === undefined || s.snaptime === null ? null : norm.num(s.snaptime, 0),
        description: typeof s.description === 'string' ? s.description : '', vmstate: norm.num(s.vmstate, 0) === 1,
        parent: typeof s.parent === 'string' && s.parent !== '' ? s.parent : null,
      }))
      .sort((a, b) => (a.snaptime ?? 0) - (b.snaptime ?? 0));
  }

  /** Takes a snapshot (the `qmsnapshot` task, followed to its end); a name in use fails the task ("already used"). */
  createSnapshot(node: string, vmid: number, name: string, opts: { description?: string; vmstate?: boolean } = {}): Promise<TaskResult> {
    return this.runTask('POST', this.vmPath(node, vmid, '/snapshot'), { snapname: this.snapname(name), description: opts.description, vmstate: opts.vmstate });
  }

  /** Deletes a snapshot (`qmdelsnapshot`); a missing one fails the task ("does not exist"). */
  deleteSnapshot(node: string, vmid: number, name: string, opts: { force?: boolean } = {}): Promise<TaskResult> {
    return this.runTask('DELETE', this.vmPath(node, vmid, `/snapshot/${seg(this.snapname(name))}`), { force: opts.force });
  }

  /** Rolls the VM back to a snapshot (`qmrollback`); a VM running without saved RAM is stopped by it, unless `start`. */
  rollbackSnapshot(node: string, vmid: number, name: string, opts: { start?: boolean } = {}): Promise<TaskResult> {
    return this.runTask('POST', this.vmPath(node, vmid, `/snapshot/${seg(this.snapname(name))}/rollback`), { start: opts.start });
  }

  // --- console (vnc-socket.ts) ---------------------------------------------------------------

  /**
   * Starts a VNC proxy for the VM (POST vncproxy, websocket=1): Proxmox forks a 'vncproxy' task
   * that waits about 10 s for one connection (openVncSocket). The ticket and the RFB password are
   * secrets of this client (masked in every line) before anything else sees them. The answer names
   * the endpoint that served it: the proxy listens on that node only.
   */
  async vncProxy(node: string, vmid: number): Promise<import('./vnc-socket.ts').VncProxy> {
    const { vncProxyAnswer } = await import('./vnc-socket.ts');
    const path = this.vmPath(node, vmid, '/vncproxy');
    const what = `POST ${path}`;
    for (let attempt = 0; ; attempt++) {
      const headers = await this.auth.headers('POST');
      const answer = await this.transport.send('POST', API + path, 'websocket=1', { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' }, what);
      this.log(`PVE ${what} {websocket} → ${answer.status} ${answer.ms} ms [${answer.endpoint.host}:${answer.endpoint.port}]`);
      let data: unknown;
      try {
        // Before parse() returns, nothing of the answer is logged; its secrets are registered next.
        data = this.parse(answer, what);
      } catch (err) {
        if (attempt === 0 && err instanceof ProxmoxTerminalError && err.status === 401 && this.auth.invalidate()) continue;
        throw err;
      }
      const d = data as { ticket?: unknown; password?: unknown } | null;
      for (const v of [d?.ticket, d?.password]) {
        if (typeof v === 'string') { this.secret(v); this.secret(encodeURIComponent(v)); }
      }
      const proxy = vncProxyAnswer(data, what);
      this.log(`PVE task ${proxy.upid}`);
      return { ...proxy, endpoint: answer.endpoint };
    }
  }

  /** The vncwebsocket of a vncProxy answer, on its endpoint, through the pinned agent: the VM's RFB stream in binary messages. */
  async openVncSocket(node: string, vmid: number, proxy: import('./vnc-socket.ts').VncProxy): Promise<import('ws').WebSocket> {
    const { openVncWebSocket } = await import('./vnc-socket.ts');
    check.node(node);
    check.vmid(vmid);
    const ws = await openVncWebSocket({
      endpoint: proxy.endpoint, agent: this.agent, node, vmid, proxy, headers: await this.auth.headers('GET'),
      timeoutMs: Math.min(15_000, this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    this.log(`PVE GET ${this.vmPath(node, vmid, '/vncwebsocket')} → 101 [${proxy.endpoint.host}:${proxy.endpoint.port}]`);
    return ws;
  }

  /**
   * The VM's firewall rules in order (each with its `pos`) and the digest of the list, which a
   * change sends back so a list changed in between is refused rather than overwritten.
   */
  async firewallRules(node: string, vmid: number): Promise<{ rules: Array<Record<string, unknown> & { pos: number }>; digest: string | null }> {
    const path = this.vmPath(node, vmid, '/firewall/rules');
    const rules = norm.list(await this.request('GET', path), `GET ${path}`)
      .map((r): Record<string, unknown> & { pos: number } => ({ ...r, pos: norm.num(r.pos, -1) }))
      .sort((a, b) => a.pos - b.pos);
    const digest = rules.find((r) => typeof r.digest === 'string')?.digest;
    return { rules, digest: typeof digest === 'string' ? digest : null };
  }

  /** Adds a rule; Proxmox puts a new rule first (position 0). */
  async createFirewallRule(node: string, vmid: number, rule: Record<string, string | number>, digest: string | null): Promise<void> {
    await this.request('POST', this.vmPath(node, vmid, '/firewall/rules'), { ...rule, digest: digest ?? undefined });
  }

  /** Changes the rule at `pos` (`clear`: fields to remove), or with `moveto` moves it before that position (at the end when past it). */
  async updateFirewallRule(node: string, vmid: number, pos: number, change: { set?: Record<string, string | number>; clear?: string[]; moveto?: number }, digest: string | null): Promise<void> {
    if (!Number.isInteger(pos) || pos < 0) throw new InputError('pos', 'must be a rule position (0 or more)');
    await this.request('PUT', this.vmPath(node, vmid, `/firewall/rules/${pos}`), {
      ...(change.set ?? {}), delete: change.clear?.length ? change.clear.join(',') : undefined, moveto: change.moveto, digest: digest ?? undefined,
    });
  }

  async deleteFirewallRule(node: string, vmid: number, pos: number, digest: string | null): Promise<void> {
    if (!Number.isInteger(pos) || pos < 0) throw new InputError('pos', 'must be a rule position (0 or more)');
    await this.request('DELETE', this.vmPath(node, vmid, `/firewall/rules/${pos}`), { digest: digest ?? undefined });
  }
}
