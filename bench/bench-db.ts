// The MariaDB database a benchmark runs on: HOSTBRIDGE_BENCH_MYSQL_URL, else root on
// 127.0.0.1:3306, with a database of the bench's own name that the bench drops and recreates.
import { connect } from '../daemon/db/connect.ts';

export function benchDatabase(defaultName: string) {
  const base = new URL(process.env.HOSTBRIDGE_BENCH_MYSQL_URL ?? `mysql://root@127.0.0.1:3306/${defaultName}`);
  const database = base.pathname.slice(1) || defaultName;
  const port = Number(base.port || 3306);
  /** One connection to the bench's MariaDB server, on the named database. */
  const mysql = (name: string) => connect({
    client: 'mysql2', url: '', host: base.hostname, port, user: decodeURIComponent(base.username || 'root'), password: decodeURIComponent(base.password), database: name,
  }, { poolMax: 1 });
  return {
    base, database, port,
    /** The URL a daemon is given. */
    dbUrl: `mysql://${base.username || 'root'}${base.password ? ':' + base.password : ''}@${base.hostname}:${port}/${database}`,
    /** One connection to the bench's MariaDB server, on the named database. */
    mysql,
    /** Drops and recreates the bench's database; the error names the server and the setting to change. */
    async recreate(bench: string): Promise<void> {
      const admin = mysql('mysql');
      try {
        await admin.raw(`DROP DATABASE IF EXISTS \`${database}\``);
        await admin.raw(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
      } catch (err) {
        throw new Error(`${bench} needs MariaDB/MySQL at ${base.hostname}:${port} with the right to create the database ${database} (set HOSTBRIDGE_BENCH_MYSQL_URL): ${(err as Error).message}`);
      } finally {
        await admin.destroy();
      }
    },
  };
}
