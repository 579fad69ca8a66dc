// The VM's browser console end to end, in Chromium: a KVM service deployed on the Proxmox emulator,
// a console link from the signed API (what the WHMCS module's Console button calls), the page with
// noVNC connecting through the daemon's proxy to the emulator's vncwebsocket — the canvas shows the
// VM's screen and a key press reaches the VM — with one VNC authentication on the Proxmox side.
// The same link opened again, an expired link and a forged one are refused (403 at the upgrade, and
// the page says so); the Proxmox ticket and VNC password appear in no page, URL, frame or log line.
// The API refuses a suspended service, a product without the console, another client's service, and
// a daemon without the console listener. noVNC's files are served read-only, without traversal.
// Screenshot: test-artifacts/screenshots/console.png.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Writable } from 'node:stream';
import { type Browser, type Page } from 'playwright-core';
import WebSocket from 'ws';
import { loadConfig } from '../../daemon/config/config.ts';
import { startDaemon, type Daemon } from '../../daemon/runtime.ts';
import { createLogger } from '../../daemon/log/logger.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { T } from '../../daemon/common/tables.ts';
import { issueConsoleLink } from '../../daemon/console/issue.ts';
import { tokenHash } from '../../daemon/console/links.ts';
import { call } from '../helpers/api.ts';
import { TEST_MASTER_KEY, TEST_SECRET } from '../helpers/daemon.ts';
import { tmpDir, waitFor } from '../helpers/db.ts';
import { activeProxmoxTasks, kvmOrderBody, startKvmLab, type KvmLab } from '../helpers/kvm.ts';
import { RFB_COLOURS, RFB_LAYOUT } from '../emulator/proxmox/rfb.ts';
import { requireChromium, SHOTS, launchChromium } from '../ui/harness.ts';

const SERVICE = 8951;
const HOSTNAME = 'console.example.org';
const CLIENT = 7; // kvmOrderBody's client

/** The status line: its state and its text. */
async function status(page: Page): Promise<{ state: string; text: string }> {
  return page.evaluate(() => {
    const s = document.getElementById('status')!;
    return { state: s.dataset.state ?? '', text: s.textContent ?? '' };
  });
}

/** One pixel of noVNC's canvas, in framebuffer coordinates. */
function pixel(page: Page, x: number, y: number): Promise<number[]> {
  return page.evaluate(([px, py]) => {
    const c = document.querySelector('#screen canvas') as HTMLCanvasElement | null;
    if (!c || c.width === 0) return [];
    return [...c.getContext('2d')!.getImageData(px!, py!, 1, 1).data.slice(0, 3)];
  }, [x, y]);
}

async function waitPixel(page: Page, x: number, y: number, rgb: readonly number[], what: string): Promise<void> {
  await waitFor(`${what} at (${x},${y}) to be ${rgb.join(',')}`, async () => JSON.stringify(await pixel(page, x, y)) === JSON.stringify([...rgb]), 15_000, 100);
}

/** The WebSocket upgrade as a plain client sees it: 101, or the refusal's status and text. */
function upgrade(consoleUrl: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${consoleUrl.replace(/^http/, 'ws')}/console/ws?t=${encodeURIComponent(token)}`, ['binary']);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => { ws.terminate(); resolve({ status: 101, body: '' }); });
    ws.on('error', reject);
  });
}

/** A GET with the path sent exactly as written (fetch would normalise it). */
function rawGet(base: string, rawPath: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the VM console in Chromium', () => {
  let dir: string;
  let daemon: Daemon;
  let lab: KvmLab;
  let browser: Browser;
  let consoleUrl: string;
  const logLines: string[] = [];

  const consoleLink = (body: unknown = { client_id: CLIENT }, id = SERVICE) => call(daemon.url, 'POST', `/v1/services/${id}/console`, body);

  before(async () => {
    requireChromium();
    fs.mkdirSync(SHOTS, { recursive: true });
    dir = tmpDir('hb-console-');
    // Every line the daemon logs, down to the Proxmox client's, is kept to look for secrets in.
    const logger = createLogger({ format: 'json', level: 'debug', stream: new Writable({ write(c, _e, cb) { logLines.push(String(c)); cb(); } }) });
    const config = loadConfig({
      HOSTBRIDGE_DATABASE_URL: path.join(dir, 'hostbridge.sqlite'), HOSTBRIDGE_LISTEN: '127.0.0.1:0', HOSTBRIDGE_SECRET: TEST_SECRET,
      HOSTBRIDGE_MASTER_KEY: TEST_MASTER_KEY, HOSTBRIDGE_POLL_MS: '50', HOSTBRIDGE_CONSOLE_LISTEN: '127.0.0.1:0',
    }, dir);
    daemon = await startDaemon(config, { migrate: true, logger });
    assert.ok(daemon.consoleUrl, 'the console listener runs');
    consoleUrl = daemon.consoleUrl!;
    for (const [k, v] of [['retry.base_ms', '200'], ['retry.cap_ms', '1000']] as const) await writeSetting(daemon.core.db, k, v, daemon.core.config.masterKey);
    await daemon.core.settings.refresh();
    lab = await startKvmLab(daemon.url, { emulator: { taskMs: { qmclone: 60, qmigrate: 60, resize: 20, qmstart: 30, qmstop: 20, qmshutdown: 30, qmdestroy: 30 } } });
    const ordered = await call(daemon.url, 'POST', '/v1/services', kvmOrderBody(SERVICE, HOSTNAME));
    assert.equal(ordered.status, 200, JSON.stringify(ordered.body));
    await waitFor(`service ${SERVICE} to be active`, async () => {
      const s = (await call(daemon.url, 'GET', `/v1/services/${SERVICE}`)).body.service?.state;
      if (s === 'failed') throw new Error(`service ${SERVICE} failed to deploy`);
      return s === 'active';
    }, 60_000, 100);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await daemon?.stop();
    await lab?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('noVNC connects through the proxy, shows the VM\'s screen and sends keys; the link then is used up', async () => {
    const r = await consoleLink();
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const url = String(r.body.url);
    assert.ok(url.startsWith(`${consoleUrl}/console/#t=`), url);
    const token = url.split('#t=')[1]!;
    const now = Math.floor(Date.now() / 1000);
    assert.ok(r.body.expires_at >= now + 55 && r.body.expires_at <= now + 65, `expires_at ${r.body.expires_at}, now ${now}`);

    const ctx = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    const page = await ctx.newPage();
    const requested: string[] = [];
    const frames: Buffer[] = [];
    const pageErrors: string[] = [];
    page.on('request', (q) => requested.push(q.url()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('websocket', (ws) => {
      requested.push(ws.url());
      ws.on('framereceived', (f) => frames.push(Buffer.from(f.payload as string | Buffer)));
      ws.on('framesent', (f) => frames.push(Buffer.from(f.payload as string | Buffer)));
    });
    await page.goto(url);
    await page.waitForSelector('#status[data-state="connected"]', { timeout: 20_000 });
    assert.deepEqual(pageErrors, []);
    assert.equal((await status(page)).text, `Connected to ${HOSTNAME}`);
    assert.equal(await page.title(), `${HOSTNAME} — console`);
    assert.ok(!page.url().includes(token), 'the token left the address bar');

    // The emulator's screen on the canvas: the title strip, the bar, the background.
    await waitPixel(page, 320, RFB_LAYOUT.titleHeight / 2, RFB_COLOURS.title, 'the title strip');
    await waitPixel(page, 320, (RFB_LAYOUT.barTop + RFB_LAYOUT.barBottom) / 2, RFB_COLOURS.bar, 'the bar');
    await waitPixel(page, 320, RFB_LAYOUT.barBottom + 40, RFB_COLOURS.background, 'the background');
    const size = await page.evaluate(() => { const c = document.querySelector('#screen canvas') as HTMLCanvasElement; return [c.width, c.height]; });
    assert.deepEqual(size, [640, 400]);
    // A key press travels to the VM: its indicator changes colour (keys 0 → 1).
    const ind = RFB_LAYOUT.indicator;
    await waitPixel(page, ind.x + 4, ind.y + 4, [0, 80, 160], 'the key indicator before');
    await page.locator('#screen canvas').click({ position: { x: 100, y: 300 } });
    await page.keyboard.press('a');
    await waitPixel(page, ind.x + 4, ind.y + 4, [53, 177, 189], 'the key indicator after one key');
    await page.screenshot({ path: path.join(SHOTS, 'console.png') });

    // On Proxmox's side: one vncproxy, one connection, one VNC login with the right password.
    assert.equal(lab.pve.vnc.proxies, 1);
    assert.equal(lab.pve.vnc.accepted, 1);
    assert.equal(lab.pve.vnc.authOk, 1);
    assert.equal(lab.pve.vnc.authFailed, 0);
    const row = await daemon.core.db(T.consoleLinks).where('token_hash', tokenHash(token)).first();
    assert.ok(Number(row.used_at) > 0, 'the link is marked used');

    // No secret of Proxmox's anywhere the customer or the log can see.
    const html = await page.content();
    const served = await Promise.all(['/console/', '/console/console.js', '/console/console.css'].map((p) => fetch(consoleUrl + p).then((x) => x.text())));
    const log = logLines.join('\n');
    for (const { ticket, password } of lab.pve.vnc.issued) {
      for (const [where, text] of [['page', html], ['served files', served.join('\n')], ['URLs', requested.join('\n') + page.url()], ['daemon log', log]] as const) {
        assert.ok(!text.includes(ticket) && !text.includes(encodeURIComponent(ticket)), `the ticket is in the ${where}`);
        assert.ok(!text.includes(password), `the VNC password is in the ${where}`);
      }
      assert.ok(!frames.some((f) => f.includes(Buffer.from(password, 'latin1'))), 'the VNC password went through the browser\'s WebSocket');
    }
    assert.ok(!/PVEVNC|PVEAPIToken|PVEAuthCookie/.test(html + log), 'no Proxmox ticket or token text');
    assert.ok(requested.filter((u) => u.includes(token)).every((u) => u.startsWith(`${consoleUrl.replace(/^http/, 'ws')}/console/ws?t=`)), 'the token went only into the WebSocket URL');
    assert.match(log, /console of service 8951: session opened \(VM \d+ on pve\d, client 7\)/);

    // The same link again: refused at the upgrade, and the page says why.
    assert.deepEqual(await upgrade(consoleUrl, token), { status: 403, body: 'This console link was already used: each link opens the console once. Open the console again from the client area to get a new link.\n' });
    const again = await ctx.newPage();
    await again.goto(url);
    await again.waitForSelector('#status[data-state="error"]', { timeout: 10_000 });
    assert.match((await status(again)).text, /already used, it has expired or it is not valid\. Open the console again from the client area to get a new link\./);
    await again.close();

    // Closing the page ends the session on both sides: the vncproxy task ends.
    await ctx.close();
    await waitFor('the VM side to close', async () => lab.pve.vnc.open === 0, 10_000, 50);
    await waitFor('no vncproxy task running', async () => !Object.values(await activeProxmoxTasks(lab.pve, ['pve1', 'pve2'])).flat().some((t) => t.startsWith('vncproxy')), 10_000, 100);
    await waitFor('the session to be logged as closed', async () => /console of service 8951: session closed \(the browser closed it\)/.test(logLines.join('\n')), 10_000, 50);
    assert.equal(lab.pve.vnc.authOk, 1, 'refused links never reached Proxmox');
    assert.equal(lab.pve.vnc.proxies, 1);
  });

  test('an expired link and a forged one are refused; neither reaches Proxmox', async () => {
    const proxies = lab.pve.vnc.proxies;
    await writeSetting(daemon.core.db, 'console.link_ttl_s', '5');
    let expired: string;
    try {
      const r = await consoleLink();
      assert.equal(r.status, 200, JSON.stringify(r.body));
      expired = String(r.body.url);
    } finally {
      await writeSetting(daemon.core.db, 'console.link_ttl_s', '60');
    }
    const forgedToken = crypto.randomBytes(32).toString('base64url');
    assert.deepEqual(await upgrade(consoleUrl, forgedToken), { status: 403, body: 'This console link is not valid. Open the console again from the client area to get a new link.\n' });
    assert.equal((await upgrade(consoleUrl, 'not-a-token')).status, 403);
    await new Promise((r) => setTimeout(r, 5300));
    assert.deepEqual(await upgrade(consoleUrl, expired.split('#t=')[1]!), { status: 403, body: 'This console link has expired: a link works only for a short while after it was made. Open the console again from the client area to get a new link.\n' });

    const ctx = await browser.newContext();
    for (const url of [expired, `${consoleUrl}/console/#t=${forgedToken}`]) {
      const page = await ctx.newPage();
      await page.goto(url);
      await page.waitForSelector('#status[data-state="error"]', { timeout: 10_000 });
      assert.match((await status(page)).text, /cannot be used: it was already used, it has expired or it is not valid/);
      await page.close();
    }
    const noToken = await ctx.newPage();
    await noToken.goto(`${consoleUrl}/console/`);
    await noToken.waitForSelector('#status[data-state="error"]', { timeout: 10_000 });
    assert.match((await status(noToken)).text, /incomplete/);
    await ctx.close();
    assert.equal(lab.pve.vnc.proxies, proxies, 'no vncproxy for a refused link');
  });

  test('a session with nothing going either way is closed at the idle limit, and the VM side with it', async () => {
    await writeSetting(daemon.core.db, 'console.idle_timeout_s', '5');
    try {
      const r = await consoleLink();
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(String(r.body.url));
      await page.waitForSelector('#status[data-state="connected"]', { timeout: 20_000 });
      const opened = Date.now();
      // The screen is still: no byte moves until the daemon closes the session.
      await page.waitForSelector('#status[data-state="closed"]', { timeout: 15_000 });
      assert.ok(Date.now() - opened >= 4000, `closed after ${Date.now() - opened} ms`);
      assert.match((await status(page)).text, /^Disconnected\. The session ended/);
      await waitFor('the VM side to close', async () => lab.pve.vnc.open === 0, 10_000, 50);
      assert.match(logLines.join('\n'), /console of service 8951: session closed \(idle limit\)/);
      await ctx.close();
    } finally {
      await writeSetting(daemon.core.db, 'console.idle_timeout_s', '900');
    }
  });

  test('noVNC\'s files are served read-only: core and vendor JavaScript only, no traversal, no listing', async () => {
    const ok = await rawGet(consoleUrl, '/console/novnc/core/rfb.js');
    assert.equal(ok.status, 200);
    assert.match(String(ok.headers['content-type']), /^text\/javascript/);
    assert.match(ok.body, /export default class RFB/);
    assert.equal((await rawGet(consoleUrl, '/console/novnc/vendor/pako/lib/zlib/inflate.js')).status, 200);
    for (const p of ['/console/novnc/core/', '/console/novnc/core', '/console/novnc/', '/console/novnc/package.json', '/console/novnc/docs/API.md',
      '/console/novnc/core/../package.json', '/console/novnc/core/%2e%2e/package.json', '/console/novnc/core/..%2fpackage.json', '/console/novnc/core/%2e%2e%2f%2e%2e%2fpackage.json',
      '/console/novnc/core/rfb.js%00.js', '/console/novnc//etc/passwd', '/console/novnc/core/../../../../../etc/passwd', '/console/novnc/vendor/pako/README.md', '/etc/passwd']) {
      const r = await rawGet(consoleUrl, p);
      assert.equal(r.status, 404, `${p}: ${r.status}`);
      assert.ok(!/"name": "@novnc|root:x:0/.test(r.body), `${p} leaked a file`);
    }
    const page = await rawGet(consoleUrl, '/console/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.equal((await rawGet(consoleUrl, '/console')).headers.location, 'console/');
    const post = await fetch(`${consoleUrl}/console/`, { method: 'POST' });
    assert.equal(post.status, 405);
  });

  test('the API refuses bad bodies, other clients, products without the console, suspended services and a daemon without the listener', async () => {
    const proxies = lab.pve.vnc.proxies;
    const bad = await consoleLink({ client_id: -1 });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.field, 'client_id');
    assert.equal((await consoleLink({})).body.field, 'client_id');
    assert.equal((await consoleLink({ client_id: CLIENT, extra: 1 })).status, 422);
    const other = await consoleLink({ client_id: CLIENT + 1 });
    assert.equal(other.status, 403);
    assert.match(other.body.error, /does not belong to client 8/);
    assert.equal((await consoleLink({ client_id: 0 })).status, 200, 'an admin (client 0) may open it');
    const unknown = await consoleLink({ client_id: CLIENT }, 999_999);
    assert.equal(unknown.status, 404);
    await assert.rejects(issueConsoleLink(daemon.core.db, null, SERVICE, { client_id: CLIENT }), (e: Error & { status?: number }) => e.status === 503 && /HOSTBRIDGE_CONSOLE_LISTEN/.test(e.message));

    // The product's client-area features without the console.
    const profileRow = await daemon.core.db(T.kvmProfiles).first('id', 'spec');
    const spec = JSON.parse(String(profileRow.spec));
    await daemon.core.db(T.kvmProfiles).where('id', profileRow.id).update({ spec: JSON.stringify({ ...spec, client_features: ['power', 'snapshots'] }) });
    try {
      const off = await consoleLink();
      assert.equal(off.status, 409);
      assert.equal(off.body.error, 'The console is not included in your product.');
    } finally {
      await daemon.core.db(T.kvmProfiles).where('id', profileRow.id).update({ spec: profileRow.spec });
    }

    // A link made before the service was suspended is refused inside the console, with the reason.
    const early = await consoleLink();
    assert.equal(early.status, 200);
    const suspended = await call(daemon.url, 'POST', `/v1/services/${SERVICE}/suspend`, { reason: 'unpaid' });
    assert.equal(suspended.status, 200, JSON.stringify(suspended.body));
    await waitFor('the service to be suspended', async () => (await call(daemon.url, 'GET', `/v1/services/${SERVICE}`)).body.service?.state === 'suspended', 30_000, 100);
    const refused = await consoleLink();
    assert.equal(refused.status, 409);
    assert.match(refused.body.error, /^Your service is suspended/);
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(String(early.body.url));
    await page.waitForSelector('#status[data-state="error"]', { timeout: 15_000 });
    assert.match((await status(page)).text, /^Your service is suspended: the console is not available until it is unsuspended\.$/);
    await ctx.close();
    assert.equal(lab.pve.vnc.proxies, proxies, 'a suspended service gets no vncproxy');
  });
});
