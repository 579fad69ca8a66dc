// A WHMCS admin area in front of the daemon, for the browser tests: `php -S` with the router of
// test/whmcs-admin/ (login, addonmodules.php, clientsservices.php as WHMCS serves them), over
// tables written to a JSON file: the admins with their roles, the addon's settings as WHMCS stores
// them in tbladdonmodules (the Access Control's role ids under "access"), and the hostbridge server
// record's params.
import fs from 'node:fs';
import path from 'node:path';
import { tmpDir } from '../helpers/db.ts';
import { phpPasswordHash, serverParams, startPhpServer } from '../helpers/php-stand-in.ts';

export interface WhmcsAdminUser { id: number; username: string; password: string; roleid: number }

export interface WhmcsAdminArea {
  url: string;
  /** Everything php -S printed (its access log and any PHP error), for a failing test's message. */
  output(): string;
  close(): Promise<void>;
}

export async function startWhmcsAdmin(o: { daemonUrl: string; secret: string; admins: WhmcsAdminUser[]; access: number[] }): Promise<WhmcsAdminArea> {
  const dir = tmpDir('hb-whmcs-admin-');
  const sessions = path.join(dir, 'sessions');
  fs.mkdirSync(sessions);
  const state = {
    tables: {
      tbladmins: o.admins.map((a) => ({ id: a.id, username: a.username, password: phpPasswordHash(a.password), roleid: a.roleid, disabled: 0 })),
      tbladdonmodules: [
        ['version', '0.1.0'], ['access', o.access.join(',')], ['daemon_url', o.daemonUrl], ['shared_secret', o.secret], ['tick_on_cron', ''],
      ].map(([setting, value]) => ({ module: 'hostbridge', setting, value })),
    },
    server_params: serverParams(o.daemonUrl, o.secret),
  };
  const statePath = path.join(dir, 'state.json');
  fs.writeFileSync(statePath, JSON.stringify(state), { mode: 0o600 });
  const php = await startPhpServer({ router: 'test/whmcs-admin/router.php', env: { HOSTBRIDGE_WHMCS_STATE: statePath, HOSTBRIDGE_WHMCS_SESSIONS: sessions }, readyPath: '/login.php' });
  return {
    url: php.url,
    output: php.output,
    async close() {
      await php.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
