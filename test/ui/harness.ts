// What the browser tests share: a daemon in this process on SQLite or MariaDB with the emulated fleet
// registered, Debian's Chromium driven by playwright-core, signed links, and screenshots kept
// under test-artifacts/screenshots/.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Daemon } from '../../daemon/runtime.ts';
import { startTestDaemon } from '../helpers/inprocess.ts';
import { registerTestTaskTypes } from '../helpers/task-types.ts';
import { createTestDb, tmpDir, type TestDb, type TestDialect } from '../helpers/db.ts';
import { ROOT } from '../helpers/daemon.ts';
import { call } from '../helpers/api.ts';
import { registerFleet, startEmulatedFleet, type EmulatedFleet, type RegisteredFleet } from '../helpers/fleet.ts';

export const CHROMIUM = process.env.HOSTBRIDGE_TEST_CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS = path.join(ROOT, 'test-artifacts/screenshots');

export interface UiHarness {
  dir: string;
  tdb: TestDb;
  daemon: Daemon;
  url: string;
  fleet: EmulatedFleet;
  reg: RegisteredFleet;
  browser: Browser;
  /** A fresh browser context (its own cookies), phone-sized when asked. */
  context(opts?: { phone?: boolean }): Promise<BrowserContext>;
  /** A signed link from POST /v1/ui-links. */
  link(body: Record<string, unknown>): Promise<string>;
  shot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

/** Fails with what to install when Debian's Chromium is missing (a browser test calls it before its set-up). */
export function requireChromium(): void {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (test/run.sh does it)`);
}

/** Debian's Chromium, headless, as every browser test runs it. */
export async function launchChromium(): Promise<Browser> {
  requireChromium();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

export async function startUi(dialect: TestDialect): Promise<UiHarness> {
  const browser = await launchChromium();
  fs.mkdirSync(SHOTS, { recursive: true });
  const dir = tmpDir('hb-ui-');
  const tdb = await createTestDb(dialect, { migrate: false });
  const fleet = await startEmulatedFleet({ latencyMs: 0, web: 1, mail: 1, dns: 1, combo: 0 });
  // The pages tests queue builtin.flaky and builtin.sleep tasks.
  const daemon = await startTestDaemon(dir, tdb.url, { HOSTBRIDGE_POLL_MS: '50' }, registerTestTaskTypes);
  const reg = await registerFleet(daemon.url, fleet);
  const h: UiHarness = {
    dir, tdb, daemon, url: daemon.url, fleet, reg, browser,
    context: (opts = {}) => browser.newContext(opts.phone
      ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true }
      : { viewport: { width: 1280, height: 900 } }),
    async link(body) {
      const r = await call(daemon.url, 'POST', '/v1/ui-links', body);
      if (r.status !== 200) throw new Error(`POST /v1/ui-links ${JSON.stringify(body)}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.url as string;
    },
    async shot(page, name) {
      await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
    },
    async close() {
      await browser.close().catch(() => {});
      await daemon.stop().catch(() => {});
      await fleet.close().catch(() => {});
      await tdb.drop().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}
