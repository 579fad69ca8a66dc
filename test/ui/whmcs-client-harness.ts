// A WHMCS client area in front of the daemon, for the browser tests: `php -S` with the router of
// test/whmcs-client/ (login, clientarea.php's product details page with the module's output and
// custom functions, as WHMCS serves them), over tables written to a JSON file: the clients, their
// services (tblhosting) and products (tblproducts with the module settings), and the hostbridge
// server record's params. The file is re-read on every request, so a test can change a service.
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { tmpDir } from '../helpers/db.ts';
import { phpPasswordHash, serverParams, startPhpServer } from '../helpers/php-stand-in.ts';

export interface WhmcsClient { id: number; email: string; password: string; firstname: string }
export interface WhmcsService { id: number; userid: number; packageid: number; domain: string; domainstatus: string }
export interface WhmcsProduct { id: number; name: string; configoption1: string; configoption15?: string }

export interface WhmcsClientArea {
  url: string;
  /** Sets a service's status (Active, Suspended…) as WHMCS would after a module command. */
  setServiceStatus(id: number, status: string): void;
  /** What the module wrote to the Module Log (logModuleCall), one entry per call: [action, request, response, processed]. */
  moduleLog(): unknown[][];
  /** Everything php -S printed (its access log and any PHP error), for a failing test's message. */
  output(): string;
  close(): Promise<void>;
}

export async function startWhmcsClientArea(o: { daemonUrl: string; secret: string; clients: WhmcsClient[]; services: WhmcsService[]; products: WhmcsProduct[] }): Promise<WhmcsClientArea> {
  const dir = tmpDir('hb-whmcs-client-');
  const sessions = path.join(dir, 'sessions');
  fs.mkdirSync(sessions);
  const state = {
    tables: {
      tblclients: o.clients.map((c) => ({ id: c.id, email: c.email, password: phpPasswordHash(c.password), firstname: c.firstname, status: 'Active' })),
      tblhosting: o.services.map((s) => ({ ...s, username: `u${s.id}` })),
      tblproducts: o.products.map((p) => ({ ...p, servertype: 'hostbridge' })),
    },
    server_params: serverParams(o.daemonUrl, o.secret),
  };
  const statePath = path.join(dir, 'state.json');
  const logPath = path.join(dir, 'modulelog.jsonl');
  const write = () => {
    // Written whole and renamed, so a request never reads half a file.
    fs.writeFileSync(`${statePath}.tmp`, JSON.stringify(state), { mode: 0o600 });
    fs.renameSync(`${statePath}.tmp`, statePath);
  };
  write();
  const php = await startPhpServer({
    router: 'test/whmcs-client/router.php', readyPath: '/clientarea.php', workers: 4,
    env: { HOSTBRIDGE_WHMCS_STATE: statePath, HOSTBRIDGE_WHMCS_SESSIONS: sessions, HOSTBRIDGE_WHMCS_MODULELOG: logPath },
  });
  return {
    url: php.url,
    setServiceStatus(id, status) {
      const row = state.tables.tblhosting.find((s) => s.id === id);
      if (!row) throw new Error(`no service ${id} in the stand-in`);
      row.domainstatus = status;
      write();
    },
    moduleLog: () => (fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown[]) : []),
    output: php.output,
    async close() {
      await php.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Logs a client in through the stand-in's login form, as the customer would, and waits for the client home. */
export async function loginToClientArea(page: Page, url: string, email: string, password: string): Promise<void> {
  await page.goto(`${url}/clientarea.php`);
  await page.fill('#inputEmail', email);
  await page.fill('#inputPassword', password);
  await page.click('#login');
  await page.waitForSelector('#whmcs-client');
}
