// The MariaDB database a benchmark runs on: HOSTBRIDGE_BENCH_MYSQL_URL, else root on
// 127.0.0.1:3306, with a database of the bench's own name that the bench drops and recreates.
import { connect } from '../daemon/db/connect.ts';

export function benchDatabase(defaultName: string) {
  const base = new URL(process.env.HOSTBRIDGE_BENCH_MYSQL_URL ?? `mysql://root@127.0.0.1:3306/${defaultName}`);
  const database = base.pathname.slice(1) || defaultName;
  const port = Number(base.port || 3306);
  return {
    base, database, port,
    /** The URL a daemon is given. */
    dbUrl: `mysql://${base.username || 'root'}${base.password ? ':' + base.password : ''}@${base.hostname}:${port}/${database}`,
    /** One connection to the bench's MariaDB server, on the named database. */
    mysql: (name: string) => connect({
      client: 'mysql2', url: '', host: base.hostname, port, user: decodeURIComponent(base.username || 'root'), password: decodeURIComponent(base.password), database: name,
    }, { poolMax: 1 }),
  };
}
