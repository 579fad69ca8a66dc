// Controls the local MariaDB server for the restart test (the test command started it the same way).
import { execFileSync } from 'node:child_process';
import { connect } from '../../daemon/db/connect.ts';
import { MYSQL_ADMIN } from './db.ts';

const cfg = () => ({ client: 'mysql2' as const, url: '', host: MYSQL_ADMIN.hostname, port: Number(MYSQL_ADMIN.port || 3306), user: decodeURIComponent(MYSQL_ADMIN.username || 'root'), password: decodeURIComponent(MYSQL_ADMIN.password), database: 'mysql' });

export async function mariadbUp(): Promise<boolean> {
  const db = connect(cfg(), { poolMax: 1 });
  try {
    await db.raw('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await db.destroy();
  }
}

export function stopMariadb(): void {
  const args = ['-uroot', `-h${MYSQL_ADMIN.hostname}`, `-P${MYSQL_ADMIN.port || 3306}`, 'shutdown'];
  if (MYSQL_ADMIN.password) args.splice(1, 0, `-p${decodeURIComponent(MYSQL_ADMIN.password)}`);
  execFileSync('mysqladmin', args, { stdio: 'pipe', timeout: 60_000 });
}

export async function startMariadb(timeoutMs = 60_000): Promise<void> {
  execFileSync('start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', '/usr/sbin/mariadbd'], { stdio: 'pipe' });
  const deadline = Date.now() + timeoutMs;
  while (!(await mariadbUp())) {
    if (Date.now() > deadline) throw new Error(`MariaDB did not come back within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
