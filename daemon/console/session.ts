// One console session, from the browser's accepted WebSocket to the end: the service is checked
// again, its VM found on the cluster, a VNC proxy started (vncproxy) and its WebSocket opened
// (vncwebsocket) with the cluster's own credentials, and Proxmox's RFB handshake done here with
// the proxy's password. The browser meanwhile gets a plain RFB 3.8 server offering security type
// None; once both sides stand, every byte is relayed both ways until either side closes, the
// session idles too long or reaches its time limit. The Proxmox ticket and VNC password stay in
// this process: masked in every line, never sent to the browser.
//
// This is a live stream, not a queued task: the customer is waiting at the other end of a socket
// that only this daemon holds, so a task another daemon could pick up (or retry later) has nothing
// to act on. Nothing on the cluster changes either: the vncproxy task ends with the connection.
import type { Knex } from 'knex';
import type { WebSocket } from 'ws';
import type { Logger } from '../log/logger.ts';
import { globalMasker, Masker } from '../log/mask.ts';
import { proxmoxClient } from '../fleet/proxmox-access.ts';
import type { ProxmoxClient } from '../drivers/proxmox/index.ts';
import { vmMarker } from '../handlers/kvm/context.ts';
import { serviceById } from '../services/store.ts';
import { readSettings } from '../settings/settings.ts';
import { consoleEligibility } from './eligibility.ts';
import { admitBrowser, authenticateUpstream, greetBrowser, refuseBrowser, SocketReader } from './rfb.ts';

export interface SessionDeps {
  db: Knex;
  masterKey: Buffer;
  logger: Logger;
}

/** How long each handshake step may wait. */
const HANDSHAKE_MS = 20_000;
/** Above this many bytes waiting for one side, the other side is paused. */
const HIGH_WATER = 8 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;

/** A refusal the customer may read as it is. */
class Refusal extends Error {}

const GENERIC = 'The console could not be opened: the host of your server did not answer as expected. Please try again in a minute; if it keeps failing, contact support.';

interface Upstream { ws: WebSocket; reader: SocketReader; vmid: number; node: string; limits: { idleMs: number; maxMs: number } }

export async function runConsoleSession(deps: SessionDeps, browser: WebSocket, link: { serviceId: number; clientId: number }): Promise<void> {
  const masker = new Masker(globalMasker);
  const log = (level: 'info' | 'warn' | 'debug', line: string) => deps.logger[level](masker.mask(line));
  browser.on('error', () => { /* closed below */ });
  const reader = new SocketReader(browser, 'browser');
  // What prepare() has opened so far (an object: closures assign it), for the clean-up.
  const held: { client: ProxmoxClient | null; upstream: Upstream | null } = { client: null, upstream: null };
  let whmcsId = 0;
  const abandon = () => {
    held.upstream?.ws.terminate();
    held.client?.close();
  };

  const prepare = async (): Promise<Upstream> => {
    const svc = await serviceById(deps.db, link.serviceId);
    if (!svc) throw new Refusal('This service no longer exists.');
    whmcsId = svc.whmcsServiceId;
    const ok = await consoleEligibility(deps.db, svc);
    if (!ok.ok) throw new Refusal(ok.message);
    const settings = await readSettings(deps.db);
    const limits = { idleMs: Number(settings['console.idle_timeout_s']) * 1000, maxMs: Number(settings['console.max_session_s']) * 1000 };
    const client = (await proxmoxClient(deps.db, deps.masterKey, ok.vm.clusterId, {
      log: (line) => log('debug', `console of service ${whmcsId}: ${line}`),
      secret: (v) => masker.add(v),
    })).client;
    held.client = client;
    const found = await client.findVm(ok.vm.vmid);
    if (!found) throw new Refusal('Your server was not found on its host. Please contact support.');
    const config = await client.vmConfig(found.node, ok.vm.vmid);
    if (!String(config.description ?? '').includes(vmMarker(svc.vmPlan!))) {
      log('warn', `console of service ${whmcsId}: VMID ${ok.vm.vmid} on ${found.node} is not this service's VM (its description does not name it); refused`);
      throw new Refusal('Your server was not found on its host. Please contact support.');
    }
    if (found.status !== 'running') throw new Refusal('Your server is not running: start it from the client area, then open the console again.');
    const proxy = await client.vncProxy(found.node, ok.vm.vmid);
    const ws = await client.openVncSocket(found.node, ok.vm.vmid, proxy);
    ws.on('error', () => { /* closed below */ });
    const up: Upstream = { ws, reader: new SocketReader(ws, 'VNC server'), vmid: ok.vm.vmid, node: found.node, limits };
    held.upstream = up;
    await authenticateUpstream(ws, up.reader, proxy.password, HANDSHAKE_MS);
    return up;
  };

  const [greeted, prepared] = await Promise.allSettled([greetBrowser(browser, reader, HANDSHAKE_MS), prepare()]);
  if (greeted.status === 'rejected') {
    log('info', `console of service ${whmcsId || `row ${link.serviceId}`}: the browser left during the handshake (${(greeted.reason as Error).message})`);
    browser.terminate();
    abandon();
    return;
  }
  if (prepared.status === 'rejected') {
    const err = prepared.reason as Error;
    if (err instanceof Refusal) log('info', `console of service ${whmcsId || `row ${link.serviceId}`}: refused: ${err.message}`);
    else log('warn', `console of service ${whmcsId || `row ${link.serviceId}`}: ${err.message}`);
    refuseBrowser(browser, err instanceof Refusal ? err.message : GENERIC);
    browser.close(1000, 'refused');
    abandon();
    return;
  }
  const up = prepared.value;
  try {
    await admitBrowser(browser, reader, HANDSHAKE_MS);
  } catch (err) {
    log('info', `console of service ${whmcsId}: the browser left during the handshake (${(err as Error).message})`);
    browser.terminate();
    abandon();
    return;
  }
  log('info', `console of service ${whmcsId}: session opened (VM ${up.vmid} on ${up.node}, client ${link.clientId})`);
  const stats = await relay(browser, reader.detach(), up.ws, up.reader.detach(), up.limits);
  held.client?.close();
  log('info', `console of service ${whmcsId}: session closed (${stats.why}) after ${Math.round(stats.ms / 1000)} s, ${stats.toVm} bytes to the VM, ${stats.toBrowser} bytes to the browser`);
}

interface RelayEnd { why: string; ms: number; toVm: number; toBrowser: number }

/** Every byte both ways until either side closes or a limit is reached; both sides are closed at the end. */
function relay(browser: WebSocket, browserRest: Buffer, vm: WebSocket, vmRest: Buffer, limits: { idleMs: number; maxMs: number }): Promise<RelayEnd> {
  return new Promise((resolve) => {
    const started = Date.now();
    let last = started;
    let toVm = 0;
    let toBrowser = 0;
    let ended = false;

    const pipe = (from: WebSocket, to: WebSocket, count: (n: number) => void) => (data: Buffer | ArrayBuffer | Buffer[]) => {
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      last = Date.now();
      count(chunk.length);
      if (to.readyState !== to.OPEN) return;
      to.send(chunk, { binary: true }, () => {
        if (from.isPaused && to.bufferedAmount < LOW_WATER) from.resume();
      });
      if (to.bufferedAmount > HIGH_WATER && !from.isPaused) from.pause();
    };

    const end = (why: string, code = 1000) => {
      if (ended) return;
      ended = true;
      clearInterval(idleTimer);
      clearTimeout(maxTimer);
      if (browser.readyState === browser.OPEN) browser.close(code, why);
      if (vm.readyState === vm.OPEN) vm.close(1000);
      // A side that does not finish its close handshake is dropped.
      setTimeout(() => { browser.terminate(); vm.terminate(); }, 5000).unref();
      resolve({ why, ms: Date.now() - started, toVm, toBrowser });
    };

    browser.on('message', pipe(browser, vm, (n) => { toVm += n; }));
    vm.on('message', pipe(vm, browser, (n) => { toBrowser += n; }));
    browser.on('close', () => end('the browser closed it'));
    vm.on('close', () => end('the VM side closed it'));
    browser.on('error', () => end('browser connection error'));
    vm.on('error', () => end('VM connection error'));
    const idleTimer = setInterval(() => {
      if (Date.now() - last > limits.idleMs) end('idle limit', 4000);
    }, Math.min(5000, Math.max(250, limits.idleMs / 4)));
    const maxTimer = setTimeout(() => end('time limit', 4001), limits.maxMs);
    if (browserRest.length) { toVm += browserRest.length; vm.send(browserRest, { binary: true }); }
    if (vmRest.length) { toBrowser += vmRest.length; browser.send(vmRest, { binary: true }); }
    // Either side may have gone while the handshakes finished.
    if (browser.readyState !== browser.OPEN) end('the browser closed it');
    else if (vm.readyState !== vm.OPEN) end('the VM side closed it');
  });
}
