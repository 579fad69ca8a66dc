// Typed HestiaCP commands. Each method validates its arguments (before any connection is made),
// runs one v-command and returns parsed output or throws a classified error (HestiaError for a
// non-zero exit). E_EXISTS / E_NOTEXIST are thrown like any other code: the task decides, after
// checking the state, whether they mean "already done".
import { randomBytes } from 'node:crypto';
import { TerminalError } from '../../common/errors.ts';
import { Arg, ArgumentError, checkPassword, type RecordType } from './args.ts';
import { parseHestiaJson, HestiaParseError, type HestiaList, type HestiaObject } from './json.ts';
import { HestiaRunner, type DriverIO, type HestiaServer } from './runner.ts';
import { withSslDir, type SslFiles } from './ssl-files.ts';
import { parseSslInfo, type SslInfo } from './ssl-info.ts';
import { archiveFromLog, parseBackupList, restoreSelectors, type BackupInfo, type RestoreParts } from './backups.ts';
import { aliasArg, cronArgs, cronScheduleArgs, dbArgs, dbNameArg, dbTypeArg, ftpArgs, ftpNameArg, ftpPathArg, MAX_DATABASE, MAX_DB_USER, type CronSchedule, type DbType } from './object-args.ts';
import { parseCronJobs, parseDatabases, parseFtpAccounts, type HestiaCronJob, type HestiaDatabase, type HestiaFtpAccount } from './object-lists.ts';
import type { SshPool } from './ssh.ts';
import { parseCpuStatus, parseDiskStatus, parseMemoryStatus, type CpuStatus, type DiskStatus, type MemoryStatus } from './sys-status.ts';

export type { SslFiles, SslInfo };
export type { CronSchedule, DbType, HestiaCronJob, HestiaDatabase, HestiaFtpAccount };

export interface RestartOption {
  /**
   * RESTART argument for commands that take one. Default true ('yes', as Hestia's panel does):
   * the change is live when the command returns. Pass false to batch several changes, then call
   * restartService() once.
   */
  restart?: boolean;
}

export interface MailDomainOptions extends RestartOption {
  antispam?: boolean;
  antivirus?: boolean;
  dkim?: boolean;
}

export interface DnsRecordOptions extends RestartOption {
  /** MX/SRV priority (Hestia ignores it for other types). */
  priority?: number;
  /** Record id; pass one so the task knows it (Hestia does not print a new id). */
  id?: number;
  ttl?: number;
}

/** One line of a zone's dns/<d>.conf, for replaceDnsRecords. */
export interface DnsConfRecord {
  id: number;
  record: string;
  type: RecordType | string;
  /** As v-add-dns-record takes it: host names with or without the dot, TXT without quotes, SRV "weight port target". */
  value: string;
  /** MX and SRV (default 10, as v-add-dns-record); ignored for other types. */
  priority?: number;
  ttl?: number;
}

export type PackageLimits = Record<string, string | number>;

export interface ProbeResult {
  uid: number;
  isRoot: boolean;
  /** 'root' (no sudo needed), 'ok' (sudo -n works) or 'refused'. */
  sudo: 'root' | 'ok' | 'refused';
  sudoDetail: string | null;
  hostKeySha256: string;
  hostKeyPinned: boolean;
  /** v-list-sys-info json, or null when sudo was refused. */
  sysinfo: HestiaObject | null;
}

export interface DkimRecord {
  name: string;
  ttl: number;
  /** TXT content without Hestia's surrounding single quotes, e.g. `v=DKIM1; k=rsa; p=…`. */
  value: string;
}

const yn = (name: string, v: boolean | undefined, dflt: boolean) => Arg.of('yesNo', name, (v ?? dflt) ? 'yes' : 'no');
const restartArg = (o?: RestartOption) => Arg.of('restart', 'RESTART', o?.restart === false ? 'no' : 'yes');
const JSON_ARG = Arg.of('format', 'FORMAT', 'json');
/** v-list-sys-*-status: long plain text, valid whatever the exit status (that of its last optional tool). */
const STATUS = { quiet: true, anyExit: true } as const;

export class HestiaDriver {
  readonly runner: HestiaRunner;

  /** One per task (or per use): `io` is usually the TaskContext (log, secret, signal). */
  constructor(pool: SshPool, server: HestiaServer, io: DriverIO = {}) {
    this.runner = new HestiaRunner(pool, server, io);
  }

  // --- plumbing -----------------------------------------------------------------------------

  private async run(command: string, args: Arg[], stdin?: string): Promise<string> {
    return (await this.runner.run(command, args, { stdin })).stdout;
  }

  /** JSON listings stay out of the task log (a v-list-users on a full node is hundreds of KB); one line says what came back. */
  private async list(command: string, args: Arg[], fields?: readonly string[]): Promise<HestiaList> {
    const out = (await this.runner.run(command, [...args, JSON_ARG], { quiet: true })).stdout;
    let parsed: HestiaList;
    try {
      parsed = parseHestiaJson(out, command, fields);
    } catch (err) {
      // What could not be read is what an admin needs to see.
      for (const line of out.slice(0, 4096).split('\n')) this.runner.log(line);
      throw err;
    }
    this.runner.log(`  ${Object.keys(parsed).length} entr${Object.keys(parsed).length === 1 ? 'y' : 'ies'} (${Math.ceil(Buffer.byteLength(out) / 1024)} KB of JSON)`);
    return parsed;
  }

  private async one(command: string, args: Arg[], key: string): Promise<HestiaObject> {
    const all = await this.list(command, args);
    const obj = all[key] ?? (Object.keys(all).length === 1 ? Object.values(all)[0] : undefined);
    if (!obj) throw new HestiaParseError(command, `no "${key}" entry in the output`);
    return obj;
  }

  private withPassword<T>(name: string, password: string, fn: (path: Arg) => Promise<T>): Promise<T> {
    const pw = checkPassword(name, password);
    this.runner.secret(pw);
    return this.runner.withTmpFile(name, pw + '\n', fn);
  }

  // --- server --------------------------------------------------------------------------------

  /** Who we are on the server, whether sudo works, and v-list-sys-info. */
  async probe(): Promise<ProbeResult> {
    const s = await this.runner.session();
    let sudo: ProbeResult['sudo'] = 'root';
    let sudoDetail: string | null = null;
    if (!s.isRoot) {
      const r = await this.runner.exec('sudo -n true');
      sudo = r.code === 0 ? 'ok' : 'refused';
      if (r.code !== 0) sudoDetail = this.runner.masker.mask(r.stderr).trim().slice(0, 300) || `exit ${r.code}`;
    }
    let sysinfo: HestiaObject | null = null;
    if (sudo !== 'refused') sysinfo = await this.listSysInfo();
    return { uid: s.uid, isRoot: s.isRoot, sudo, sudoDetail, hostKeySha256: s.hostKeySha256, hostKeyPinned: s.hostKeyPinned, sysinfo };
  }

  listSysInfo(): Promise<HestiaObject> {
    return this.one('v-list-sys-info', [], 'sysinfo');
  }

  /** top's CPU line and the CPU count (v-list-sys-cpu-status: plain text, no FORMAT). */
  async cpuStatus(): Promise<CpuStatus> {
    return parseCpuStatus((await this.runner.run('v-list-sys-cpu-status', [], STATUS)).stdout);
  }

  /** RAM in use, from `free -t -m` (v-list-sys-memory-status). */
  async memoryStatus(): Promise<MemoryStatus | null> {
    return parseMemoryStatus((await this.runner.run('v-list-sys-memory-status', [], STATUS)).stdout);
  }

  /** The root filesystem's use, from `df -h` (v-list-sys-disk-status). */
  async diskStatus(): Promise<DiskStatus | null> {
    return parseDiskStatus((await this.runner.run('v-list-sys-disk-status', [], STATUS)).stdout);
  }

  /** Reloads a service after changes made with `restart: false`. */
  async restartService(service: 'web' | 'proxy' | 'dns' | 'mail'): Promise<void> {
    await this.run(`v-restart-${service}`, []);
  }

  // --- users ---------------------------------------------------------------------------------

  /** Every user; with `fields`, each user's entry keeps only those (see parseHestiaJson). */
  listUsers(fields?: readonly string[]): Promise<HestiaList> {
    return this.list('v-list-users', [], fields);
  }

  listUser(user: string): Promise<HestiaObject> {
    return this.one('v-list-user', [Arg.of('user', 'USER', user)], user);
  }

  /**
   * Every user's name (v-list-users list, one per line). This is how a look-before-create asks
   * whether a user exists: v-list-user on a missing user fails through check_result, which adds
   * an `[Error 3]` line to HestiaCP's error.log every time.
   */
  async listUserNames(): Promise<string[]> {
    const out = (await this.runner.run('v-list-users', [Arg.of('format', 'FORMAT', 'list')], { quiet: true })).stdout;
    const names = out.split('\n').map((l) => l.trim()).filter(Boolean);
    this.runner.log(`  ${names.length} user${names.length === 1 ? '' : 's'}`);
    return names;
  }

  async userExists(user: string): Promise<boolean> {
    const u = Arg.of('user', 'USER', user).value;
    return (await this.listUserNames()).includes(u);
  }

  /** The user, or null when it does not exist (asked without a failing command, see listUserNames). */
  async findUser(user: string): Promise<HestiaObject | null> {
    return (await this.userExists(user)) ? this.listUser(user) : null;
  }

  /** The password goes through a mode-600 /tmp file, never argv. */
  async addUser(user: string, password: string, email: string, pkg: string, name?: string): Promise<void> {
    const args = [Arg.of('newUser', 'USER', user)];
    const tail = [Arg.of('email', 'EMAIL', email), Arg.of('package', 'PACKAGE', pkg)];
    if (name !== undefined && name !== '') tail.push(Arg.of('name', 'NAME', name));
    await this.withPassword('PASSWORD', password, (path) => this.run('v-add-user', [...args, path, ...tail]));
  }

  async deleteUser(user: string, o?: RestartOption): Promise<void> {
    await this.run('v-delete-user', [Arg.of('user', 'USER', user), restartArg(o)]);
  }

  async suspendUser(user: string, o?: RestartOption): Promise<void> {
    await this.run('v-suspend-user', [Arg.of('user', 'USER', user), restartArg(o)]);
  }

  async unsuspendUser(user: string, o?: RestartOption): Promise<void> {
    await this.run('v-unsuspend-user', [Arg.of('user', 'USER', user), restartArg(o)]);
  }

  async changeUserPackage(user: string, pkg: string, force = false): Promise<void> {
    const args = [Arg.of('user', 'USER', user), Arg.of('package', 'PACKAGE', pkg)];
    if (force) args.push(Arg.of('yesNo', 'FORCE', 'yes'));
    await this.run('v-change-user-package', args);
  }

  /** Empty PASSWORD argument: Hestia reads the password from stdin (one line). */
  async changeUserPassword(user: string, password: string): Promise<void> {
    const pw = checkPassword('PASSWORD', password);
    const u = Arg.of('user', 'USER', user);
    this.runner.secret(pw);
    await this.run('v-change-user-password', [u, Arg.empty('PASSWORD')], pw + '\n');
  }

  async updateUserCounters(user?: string): Promise<void> {
    await this.run('v-update-user-counters', user === undefined ? [] : [Arg.of('user', 'USER', user)]);
  }

  // --- packages ------------------------------------------------------------------------------

  /** Writes the limits as a KEY='value' file and installs it as package `name`. */
  async addPackage(name: string, limits: PackageLimits, rewrite = false): Promise<void> {
    const pkg = Arg.of('package', 'PACKAGE', name);
    const content = packageFile(limits);
    const tail = rewrite ? [Arg.of('yesNo', 'REWRITE', 'yes')] : [];
    await this.runner.withTmpFile('TMPFILE', content, (path) => this.run('v-add-user-package', [path, pkg, ...tail]));
  }

  async deletePackage(name: string): Promise<void> {
    await this.run('v-delete-user-package', [Arg.of('package', 'PACKAGE', name)]);
  }

  listPackages(): Promise<HestiaList> {
    return this.list('v-list-user-packages', []);
  }

  listPackage(name: string): Promise<HestiaObject> {
    return this.one('v-list-user-package', [Arg.of('package', 'PACKAGE', name)], name);
  }

  /** The package, or null when it does not exist: read from the full listing, since v-list-user-package logs an error for a missing one. */
  async findPackage(name: string): Promise<HestiaObject | null> {
    const p = Arg.of('package', 'PACKAGE', name).value;
    return (await this.listPackages())[p] ?? null;
  }

  // --- web -----------------------------------------------------------------------------------

  /** `ip` empty = Hestia picks one; `aliases` [] = none, undefined = Hestia's default (www.). */
  async addWebDomain(user: string, domain: string, ip?: string, aliases?: string[], o?: RestartOption): Promise<void> {
    const args = [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain), ip ? Arg.of('ipv4', 'IP', ip) : Arg.empty('IP'), restartArg(o)];
    if (aliases !== undefined) args.push(Arg.of('aliases', 'ALIASES', aliases.length ? aliases.join(',') : 'none'));
    await this.run('v-add-web-domain', args);
  }

  /** A web domain's three templates: the web server's, the backend's (PHP-FPM: the PHP version) and the proxy's, by their commands. */
  static readonly WEB_TEMPLATE_COMMANDS = {
    web: { list: 'v-list-web-templates', change: 'v-change-web-domain-tpl' },
    backend: { list: 'v-list-web-templates-backend', change: 'v-change-web-domain-backend-tpl' },
    proxy: { list: 'v-list-web-templates-proxy', change: 'v-change-web-domain-proxy-tpl' },
  } as const;

  /**
   * The node's web (kind 'web'), backend/PHP ('backend') or proxy ('proxy') templates, from
   * v-list-web-templates*: a bare JSON array of names; empty when the node has no such system.
   */
  async listWebTemplates(kind: 'web' | 'backend' | 'proxy'): Promise<string[]> {
    const out = (await this.runner.run(HestiaDriver.WEB_TEMPLATE_COMMANDS[kind].list, [JSON_ARG], { quiet: true })).stdout.trim();
    if (out === '') return [];
    let data: unknown;
    try {
      data = JSON.parse(out);
    } catch {
      throw new HestiaParseError(HestiaDriver.WEB_TEMPLATE_COMMANDS[kind].list, 'expected a JSON array of template names');
    }
    if (!Array.isArray(data) || data.some((t) => typeof t !== 'string')) throw new HestiaParseError(HestiaDriver.WEB_TEMPLATE_COMMANDS[kind].list, 'expected a JSON array of template names');
    this.runner.log(`  ${data.length} ${kind} template(s)`);
    return data as string[];
  }

  /**
   * Sets one template of a web domain (v-change-web-domain-tpl / -backend-tpl / -proxy-tpl). For
   * the proxy, v-change-web-domain-proxy-tpl resets PROXY_EXT to HestiaCP's default list when
   * EXTENSIONS is left out: pass `proxyExtensions` to keep a domain's own list (up to 100
   * characters), leave it out when the domain has the default list (then RESTART is left out too,
   * as it follows EXTENSIONS: HestiaCP restarts the proxy).
   */
  async changeWebDomainTemplate(user: string, domain: string, kind: 'web' | 'backend' | 'proxy', template: string, o: RestartOption & { proxyExtensions?: string } = {}): Promise<void> {
    const args = [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain), Arg.of('package', 'TEMPLATE', template)];
    if (kind === 'proxy') {
      const ext = o.proxyExtensions ?? '';
      if (ext === '') {
        await this.run(HestiaDriver.WEB_TEMPLATE_COMMANDS[kind].change, args);
        return;
      }
      if (!/^[A-Za-z0-9]{1,16}(,[A-Za-z0-9]{1,16}){0,99}$/.test(ext)) throw new TerminalError('invalid argument EXTENSIONS: a comma list of file extensions');
      args.push(Arg.of('name', 'EXTENSIONS', ext));
    }
    args.push(restartArg(o));
    await this.run(HestiaDriver.WEB_TEMPLATE_COMMANDS[kind].change, args);
  }


  // --- databases, FTP accounts, cron jobs, web aliases (the customer's hosting panel) --------

  /** The user's databases (v-list-databases json), typed; HestiaCP does not list password hashes. */
  async listDatabases(user: string): Promise<HestiaDatabase[]> {
    return parseDatabases(await this.list('v-list-databases', [Arg.of('user', 'USER', user)]));
  }

  /**
   * v-add-database with names given without the `<user>_` prefix HestiaCP adds; returns the full
   * database name (what the other database methods take). The password goes through a mode-600
   * /tmp file, never argv. `host` empty = HestiaCP's least-loaded server of the type.
   */
  async addDatabase(user: string, database: string, dbUser: string, password: string, o: { type?: DbType; charset?: string; host?: string } = {}): Promise<string> {
    const u = Arg.of('user', 'USER', user);
    const type = dbTypeArg('TYPE', o.type ?? 'mysql');
    const db = dbNameArg('DATABASE', u.value, database, MAX_DATABASE);
    const dbu = dbNameArg('DBUSER', u.value, dbUser, MAX_DB_USER);
    // HestiaCP's UTF8MB4 default is MySQL's; PostgreSQL calls it UTF8.
    const charset = Arg.of('package', 'CHARSET', o.charset ?? (type.value === 'pgsql' ? 'UTF8' : 'UTF8MB4'));
    const tail = [type, o.host ? Arg.of('package', 'HOST', o.host) : Arg.empty('HOST'), charset];
    await this.withPassword('DBPASS', password, (path) => this.run('v-add-database', [u, db, dbu, path, ...tail]));
    const full = `${u.value}_${db.value}`;
    return type.value === 'pgsql' ? full.toLowerCase() : full;
  }

  /** `database` is the full name as listed; the database user goes too unless another database uses it. */
  async deleteDatabase(user: string, database: string): Promise<void> {
    await this.run('v-delete-database', dbArgs(user, database));
  }

  async changeDatabasePassword(user: string, database: string, password: string): Promise<void> {
    const head = dbArgs(user, database);
    await this.withPassword('DBPASS', password, (path) => this.run('v-change-database-password', [...head, path]));
  }

  /**
   * Gives the database another user (`dbUser` without the prefix). HestiaCP refuses (4) a user
   * that any of the account's databases already has, the current one included.
   */
  async changeDatabaseUser(user: string, database: string, dbUser: string, password?: string): Promise<void> {
    const head = dbArgs(user, database);
    const dbu = dbNameArg('DBUSER', head[0]!.value, dbUser, MAX_DB_USER);
    if (password === undefined) await this.run('v-change-database-user', [...head, dbu]);
    else await this.withPassword('DBPASS', password, (path) => this.run('v-change-database-user', [...head, dbu, path]));
  }

  async suspendDatabase(user: string, database: string): Promise<void> {
    await this.run('v-suspend-database', dbArgs(user, database));
  }

  async unsuspendDatabase(user: string, database: string): Promise<void> {
    await this.run('v-unsuspend-database', dbArgs(user, database));
  }

  /** A web domain's extra FTP accounts, from v-list-web-domains (HestiaCP has no FTP listing); FTP_MD5 is not listed. */
  async listFtpAccounts(user: string, domain: string): Promise<HestiaFtpAccount[]> {
    const d = Arg.of('domain', 'DOMAIN', domain);
    const web = (await this.list('v-list-web-domains', [Arg.of('user', 'USER', user)]))[d.value];
    if (!web) throw new TerminalError(`web domain ${d.value} of ${user} is not on ${this.runner.server.host}`);
    return parseFtpAccounts(web);
  }

  /**
   * v-add-web-domain-ftp: the account is the system user `<user>_<name>` (returned), with the
   * domain directory or `path` below it (created if missing) as its home. Password via a /tmp file.
   */
  async addFtpAccount(user: string, domain: string, name: string, password: string, path?: string): Promise<string> {
    const u = Arg.of('user', 'USER', user);
    const head = [u, Arg.of('domain', 'DOMAIN', domain), ftpNameArg('FTP_USER', u.value, name)];
    const tail = path === undefined || path === '' ? [] : [ftpPathArg('FTP_PATH', path)];
    await this.withPassword('FTP_PASSWORD', password, (p) => this.run('v-add-web-domain-ftp', [...head, p, ...tail]));
    return `${u.value}_${head[2]!.value}`;
  }

  /** `ftpUser` is the full `<user>_<name>` as listed. */
  async deleteFtpAccount(user: string, domain: string, ftpUser: string): Promise<void> {
    await this.run('v-delete-web-domain-ftp', ftpArgs(user, domain, ftpUser));
  }

  async changeFtpPassword(user: string, domain: string, ftpUser: string, password: string): Promise<void> {
    const head = ftpArgs(user, domain, ftpUser);
    await this.withPassword('FTP_PASSWORD', password, (p) => this.run('v-change-web-domain-ftp-password', [...head, p]));
  }

  /** Moves the account's home to `path` below the domain directory (created if missing). */
  async changeFtpPath(user: string, domain: string, ftpUser: string, path: string): Promise<void> {
    await this.run('v-change-web-domain-ftp-path', [...ftpArgs(user, domain, ftpUser), ftpPathArg('FTP_PATH', path)]);
  }

  listCronJobs(user: string): Promise<HestiaCronJob[]> {
    return this.list('v-list-cron-jobs', [Arg.of('user', 'USER', user)]).then(parseCronJobs);
  }

  /**
   * v-add-cron-job; returns the job's id. HestiaCP does not print a new id, so one is always
   * passed: `o.id`, or the highest listed id + 1 (a clash is HestiaCP's 4, like any other).
   * The command is user content: it is in the task log and in HestiaCP's listing.
   */
  async addCronJob(user: string, schedule: CronSchedule, command: string, o: RestartOption & { id?: number } = {}): Promise<number> {
    const u = Arg.of('user', 'USER', user);
    const fields = cronScheduleArgs(schedule);
    const cmd = Arg.of('cronCommand', 'CRON_COMMAND', command);
    const id = o.id ?? Math.max(0, ...(await this.listCronJobs(u.value)).map((j) => j.id)) + 1;
    await this.run('v-add-cron-job', [u, ...fields, cmd, Arg.of('id', 'JOB', String(id)), restartArg(o)]);
    return id;
  }

  /** Replaces the job's schedule and command; a suspended job is refused (E_SUSPENDED): unsuspend it first. */
  async changeCronJob(user: string, id: number, schedule: CronSchedule, command: string): Promise<void> {
    await this.run('v-change-cron-job', [...cronArgs(user, id), ...cronScheduleArgs(schedule), Arg.of('cronCommand', 'CRON_COMMAND', command)]);
  }

  async deleteCronJob(user: string, id: number, o?: RestartOption): Promise<void> {
    await this.run('v-delete-cron-job', [...cronArgs(user, id), restartArg(o)]);
  }

  async suspendCronJob(user: string, id: number, o?: RestartOption): Promise<void> {
    await this.run('v-suspend-cron-job', [...cronArgs(user, id), restartArg(o)]);
  }

  async unsuspendCronJob(user: string, id: number, o?: RestartOption): Promise<void> {
    await this.run('v-unsuspend-cron-job', [...cronArgs(user, id), restartArg(o)]);
  }

  /**
   * One more name for a web domain (v-add-web-domain-alias). No DNS record is added and an
   * installed certificate is not extended: re-issue Let's Encrypt with the alias for that.
   */
  async addWebAlias(user: string, domain: string, alias: string, o?: RestartOption): Promise<void> {
    await this.run('v-add-web-domain-alias', [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain), aliasArg(alias), restartArg(o)]);
  }

  async deleteWebAlias(user: string, domain: string, alias: string, o?: RestartOption): Promise<void> {
    await this.run('v-delete-web-domain-alias', [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain), aliasArg(alias), restartArg(o)]);
  }


  // --- backups (reference §8.7) ---------------------------------------------------------------

  /** v-list-user-backups json: the archives HestiaCP keeps for the user (backup.conf, oldest first). */
  async listBackups(user: string): Promise<BackupInfo[]> {
    return parseBackupList(await this.list('v-list-user-backups', [Arg.of('user', 'USER', user)]));
  }

  /**
   * v-backup-user USER: runs the whole backup now and returns the new archive's name (null if its
   * log had no `Local:` line). Minutes to hours on a real node, and it waits while the load is
   * high: give it a long timeout, or use scheduleBackup. Fails with 11 when the package's BACKUPS
   * is 0 or BACKUP_SYSTEM is off, 5 for a suspended user; rotation to BACKUPS happens on the node.
   */
  async backupUser(user: string, o: { timeoutMs?: number } = {}): Promise<string | null> {
    const out = await this.runner.run('v-backup-user', [Arg.of('user', 'USER', user), Arg.of('yesNo', 'NOTIFY', 'no')],
      { timeoutMs: o.timeoutMs ?? Math.max(3_600_000, this.runner.server.commandTimeoutMs ?? 0) });
    return archiveFromLog(out.stdout);
  }

  /** v-schedule-user-backup: queued for HestiaCP's 5-minute cron; 4 when one is already queued. */
  async scheduleBackup(user: string): Promise<void> {
    await this.run('v-schedule-user-backup', [Arg.of('user', 'USER', user)]);
  }

  /** v-delete-user-backup: the archive (on each target it was stored on) and its backup.conf line; 3 when unknown. */
  async deleteBackup(user: string, archive: string): Promise<void> {
    await this.run('v-delete-user-backup', [Arg.of('user', 'USER', user), Arg.of('backup', 'BACKUP', archive)]);
  }

  /**
   * v-restore-user USER BACKUP WEB DNS MAIL DB CRON UDIR no: puts the chosen parts back now
   * (a part left out is not restored). Slow like a backup: long timeout. 3 when the archive is not
   * in the node's backup folder, 5 for a suspended user; a missing user is created from the archive.
   */
  async restoreBackup(user: string, archive: string, parts: RestoreParts, o: { timeoutMs?: number } = {}): Promise<void> {
    const args = [Arg.of('user', 'USER', user), Arg.of('backup', 'BACKUP', archive), ...restoreSelectors(parts), Arg.of('yesNo', 'NOTIFY', 'no')];
    await this.runner.run('v-restore-user', args, { timeoutMs: o.timeoutMs ?? Math.max(3_600_000, this.runner.server.commandTimeoutMs ?? 0) });
  }

  /** v-schedule-user-restore: the same, queued (3 for an archive not in backup.conf, 4 when a restore is already queued). */
  async scheduleRestore(user: string, archive: string, parts: RestoreParts): Promise<void> {
    await this.run('v-schedule-user-restore', [Arg.of('user', 'USER', user), Arg.of('backup', 'BACKUP', archive), ...restoreSelectors(parts)]);
  }


  async deleteWebDomain(user: string, domain: string, o?: RestartOption): Promise<void> {
    await this.run('v-delete-web-domain', [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain), restartArg(o)]);
  }

  listWebDomains(user: string): Promise<HestiaList> {
    return this.list('v-list-web-domains', [Arg.of('user', 'USER', user)]);
  }

  async suspendWebDomain(user: string, domain: string, o?: RestartOption): Promise<void> {
    await this.run('v-suspend-web-domain', [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain), restartArg(o)]);
  }

  async unsuspendWebDomain(user: string, domain: string, o?: RestartOption): Promise<void> {
    await this.run('v-unsuspend-web-domain', [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain), restartArg(o)]);
  }

  // --- mail ----------------------------------------------------------------------------------

  // --- SSL (web and mail domains) -------------------------------------------------------------

  /** v-add-letsencrypt-domain USER DOMAIN [ALIASES] [MAIL]; slow (seconds to minutes): give it a long timeout. */
  async addLetsEncrypt(user: string, domain: string, o: { aliases?: string[]; mail?: boolean } = {}): Promise<void> {
    const args = [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain)];
    // In mail mode Hestia ignores ALIASES (mail.<d> and the webmail alias are implied).
    if (o.mail) args.push(Arg.empty('ALIASES'), Arg.of('yesNo', 'MAIL', 'yes'));
    else if (o.aliases?.length) args.push(Arg.of('aliases', 'ALIASES', o.aliases.join(',')));
    // An ACME order (DNS checks, validation, issuance) takes minutes at worst.
    await this.runner.run('v-add-letsencrypt-domain', args, { timeoutMs: Math.max(300_000, this.runner.server.commandTimeoutMs ?? 0) });
  }

  /** v-delete-letsencrypt-domain USER DOMAIN RESTART [MAIL]: removes the certificate, LETSENCRYPT='no'. */
  async deleteLetsEncrypt(user: string, domain: string, o: { mail?: boolean } = {}): Promise<void> {
    const args = [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain), restartArg()];
    // Any non-empty MAIL selects mail mode (even "no"), so it is passed only for mail.
    if (o.mail) args.push(Arg.of('yesNo', 'MAIL', 'yes'));
    await this.run('v-delete-letsencrypt-domain', args);
  }

  /** Ships cert/key/chain into a fresh /tmp/hb-<random>/ dir (install -D -m 600 /dev/stdin, never argv), runs v-add-web-domain-ssl, always removes the dir. */
  async installWebSsl(user: string, domain: string, files: { cert: string; key: string; chain?: string }): Promise<void> {
    const u = Arg.of('user', 'USER', user); const d = Arg.of('domain', 'DOMAIN', domain);
    await withSslDir(this.runner, d, files, (dir) => this.run('v-add-web-domain-ssl', [u, d, dir, Arg.of('name', 'SSL_HOME', 'same'), restartArg()]));
  }

  /** Same, v-change-web-domain-sslcert (SSL already on). */
  async replaceWebSsl(user: string, domain: string, files: { cert: string; key: string; chain?: string }): Promise<void> {
    const u = Arg.of('user', 'USER', user); const d = Arg.of('domain', 'DOMAIN', domain);
    await withSslDir(this.runner, d, files, (dir) => this.run('v-change-web-domain-sslcert', [u, d, dir, restartArg()]));
  }

  async deleteWebSsl(user: string, domain: string): Promise<void> {
    await this.run('v-delete-web-domain-ssl', [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain), restartArg()]);
  }

  /** v-add-mail-domain-ssl: the files are named after the mail domain; Hestia serves them for mail.<d> and webmail. */
  async installMailSsl(user: string, domain: string, files: { cert: string; key: string; chain?: string }): Promise<void> {
    const u = Arg.of('user', 'USER', user); const d = Arg.of('domain', 'DOMAIN', domain);
    await withSslDir(this.runner, d, files, (dir) => this.run('v-add-mail-domain-ssl', [u, d, dir, restartArg()]));
  }

  async deleteMailSsl(user: string, domain: string): Promise<void> {
    // v-delete-mail-domain-ssl takes USER DOMAIN only.
    await this.run('v-delete-mail-domain-ssl', [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain)]);
  }

  /** v-list-web-domain-ssl json, parsed; null when no certificate. KEY is dropped at parse and never kept, logged or returned. */
  webSslInfo(user: string, domain: string): Promise<SslInfo | null> {
    return this.sslInfo('v-list-web-domain-ssl', user, domain);
  }

  mailSslInfo(user: string, domain: string): Promise<SslInfo | null> {
    return this.sslInfo('v-list-mail-domain-ssl', user, domain);
  }

  /** The output holds the private key: read quietly (no stdout lines in the log, unlike list()), parsed at once. */
  private async sslInfo(command: string, user: string, domain: string): Promise<SslInfo | null> {
    const out = (await this.runner.run(command, [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain), JSON_ARG], { quiet: true })).stdout;
    const info = parseSslInfo(out, command);
    this.runner.log(info ? `  certificate for ${info.names.join(', ') || info.subject}, valid until ${info.notAfter.toISOString()} (private key not kept)` : '  no certificate');
    return info;
  }


  async addMailDomain(user: string, domain: string, o: MailDomainOptions = {}): Promise<void> {
    await this.run('v-add-mail-domain', [
      Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain),
      yn('ANTISPAM', o.antispam, true), yn('ANTIVIRUS', o.antivirus, true), yn('DKIM', o.dkim, true),
      // DKIM_SIZE is given because an empty one would not fall back to Hestia's default.
      Arg.of('number', 'DKIM_SIZE', '2048'), restartArg(o),
    ]);
  }

  async deleteMailDomain(user: string, domain: string): Promise<void> {
    await this.run('v-delete-mail-domain', [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain)]);
  }

  listMailDomains(user: string): Promise<HestiaList> {
    return this.list('v-list-mail-domains', [Arg.of('user', 'USER', user)]);
  }

  /** The DKIM public record to publish (v-list-mail-domain-dkim-dns; the -dkim json is broken). */
  async getDkimRecord(user: string, domain: string): Promise<DkimRecord> {
    const all = await this.list('v-list-mail-domain-dkim-dns', [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain)]);
    const [name, rec] = Object.entries(all)[0] ?? [];
    if (!name || !rec || !rec.TXT) throw new HestiaParseError('v-list-mail-domain-dkim-dns', 'no DKIM record in the output');
    return { name, ttl: Number(rec.TTL) || 3600, value: rec.TXT.replace(/^'(.*)'$/, '$1') };
  }

  /** `quota` in MB, or 'unlimited' (the default). Password via a /tmp file. */
  async addMailAccount(user: string, domain: string, account: string, password: string, quota: number | 'unlimited' = 'unlimited'): Promise<void> {
    const head = [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain), Arg.of('mailAccount', 'ACCOUNT', account)];
    const q = Arg.of('quota', 'QUOTA', String(quota));
    await this.withPassword('PASSWORD', password, (path) => this.run('v-add-mail-account', [...head, path, q]));
  }

  async deleteMailAccount(user: string, domain: string, account: string): Promise<void> {
    await this.run('v-delete-mail-account', mailAccountArgs(user, domain, account));
  }

  async suspendMailAccount(user: string, domain: string, account: string): Promise<void> {
    await this.run('v-suspend-mail-account', mailAccountArgs(user, domain, account));
  }

  async unsuspendMailAccount(user: string, domain: string, account: string): Promise<void> {
    await this.run('v-unsuspend-mail-account', mailAccountArgs(user, domain, account));
  }

  async changeMailAccountPassword(user: string, domain: string, account: string, password: string): Promise<void> {
    const head = mailAccountArgs(user, domain, account);
    await this.withPassword('PASSWORD', password, (path) => this.run('v-change-mail-account-password', [...head, path]));
  }

  async changeMailAccountQuota(user: string, domain: string, account: string, quota: number | 'unlimited'): Promise<void> {
    await this.run('v-change-mail-account-quota', [...mailAccountArgs(user, domain, account), Arg.of('quota', 'QUOTA', String(quota))]);
  }

  listMailAccounts(user: string, domain: string): Promise<HestiaList> {
    return this.list('v-list-mail-accounts', [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain)]);
  }

  // --- DNS (on the Hestia node) --------------------------------------------------------------

  /** Up to 8 name servers; with fewer than two, Hestia uses the package's NS list. */
  async addDnsDomain(user: string, domain: string, ip: string, ns: string[] = [], o?: RestartOption): Promise<void> {
    if (ns.length > 8) throw new TerminalError('invalid argument NS: at most 8 name servers');
    const nsArgs = Array.from({ length: 8 }, (_, i) => (ns[i] ? Arg.of('hostname', `NS${i + 1}`, ns[i]) : Arg.empty(`NS${i + 1}`)));
    await this.run('v-add-dns-domain', [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain), Arg.of('ipv4', 'IP', ip), ...nsArgs, restartArg(o)]);
  }

  async deleteDnsDomain(user: string, domain: string, o?: RestartOption): Promise<void> {
    await this.run('v-delete-dns-domain', [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain), restartArg(o)]);
  }

  /** The zone and every record in it stop being served (bind drops the zone). */
  async suspendDnsDomain(user: string, domain: string, o?: RestartOption): Promise<void> {
    await this.run('v-suspend-dns-domain', [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain), restartArg(o)]);
  }

  /** Serves the zone again; Hestia marks every record of it active (it takes no RESTART). */
  async unsuspendDnsDomain(user: string, domain: string): Promise<void> {
    await this.run('v-unsuspend-dns-domain', [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain)]);
  }

  listDnsDomains(user: string): Promise<HestiaList> {
    return this.list('v-list-dns-domains', [Arg.of('user', 'USER', user)]);
  }

  /** Keyed by record id. */
  listDnsRecords(user: string, domain: string): Promise<HestiaList> {
    return this.list('v-list-dns-records', [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain)]);
  }

  async addDnsRecord(user: string, domain: string, record: string, type: RecordType | string, value: string, o: DnsRecordOptions = {}): Promise<void> {
    const t = Arg.of('recordType', 'TYPE', type);
    const args = [
      Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain), Arg.of('recordName', 'RECORD', record), t,
      Arg.recordValue('VALUE', t.value as RecordType, value),
      o.priority !== undefined ? Arg.of('number', 'PRIORITY', String(o.priority)) : Arg.empty('PRIORITY'),
      o.id !== undefined ? Arg.of('id', 'ID', String(o.id)) : Arg.empty('ID'),
      restartArg(o),
    ];
    if (o.ttl !== undefined) args.push(Arg.of('number', 'TTL', String(o.ttl)));
    await this.run('v-add-dns-record', args);
  }

  /**
   * Replaces every record of a zone in one command: the lines, written as v-add-dns-record writes
   * them, go on stdin into a fresh mode-600 /tmp file that v-insert-dns-records moves over
   * dns/<d>.conf. That script checks nothing in the file (a missing file is even ignored, exit 0),
   * and neither bumps the serial, rewrites the BIND zone file, counts the records nor reloads: the
   * caller checks the records first and follows with a command that does all that (a
   * v-add-dns-record), then lists the zone. See HestiaZoneHost.ensureZone.
   */
  async replaceDnsRecords(user: string, domain: string, records: DnsConfRecord[]): Promise<void> {
    const args = [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain)];
    const d = new Date();
    const stamp = { time: d.toISOString().slice(11, 19), date: d.toISOString().slice(0, 10) };
    const text = records.map((r, i) => dnsConfLine(r, `RECORDS[${i}]`, stamp) + '\n').join('');
    const path = Arg.secretPath('DATAFILE', `/tmp/hb-${randomBytes(16).toString('hex')}`);
    // GNU install creates the file 0600 from the start; v-insert-dns-records (as root) moves it away.
    const write = await this.runner.exec(`install -m 600 /dev/stdin ${path.quoted()}`, { stdin: text });
    if (write.code !== 0) {
      throw new TerminalError(`could not write a temporary file on ${this.runner.server.host}: ${this.runner.masker.mask(write.stderr).trim().slice(0, 200)}`);
    }
    try {
      await this.run('v-insert-dns-records', [...args, path]);
    } catch (err) {
      // Moved only on success: on failure the file is still there (zone data, no secret, but not ours to leave).
      await this.runner.exec(`rm -f ${path.quoted()}`, { timeoutMs: 15_000 }).catch(() => undefined);
      throw err;
    }
  }

  async deleteDnsRecord(user: string, domain: string, id: number, o?: RestartOption): Promise<void> {
    await this.run('v-delete-dns-record', [...recordArgs(user, domain, id), restartArg(o)]);
  }

  async suspendDnsRecord(user: string, domain: string, id: number, o?: RestartOption): Promise<void> {
    await this.run('v-suspend-dns-record', [...recordArgs(user, domain, id), restartArg(o)]);
  }

  async unsuspendDnsRecord(user: string, domain: string, id: number, o?: RestartOption): Promise<void> {
    await this.run('v-unsuspend-dns-record', [...recordArgs(user, domain, id), restartArg(o)]);
  }
}

function mailAccountArgs(user: string, domain: string, account: string): Arg[] {
  return [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain), Arg.of('mailAccount', 'ACCOUNT', account)];
}

// v-add-dns-record's rewriting of a value before it stores it (its `=~ ^NS|CNAME|MX|PTR|SRV` tests).
const DOTTED = new Set(['NS', 'CNAME', 'MX', 'PTR', 'SRV']);
const UNWRAPPED = new Set(['SRV', 'DNSKEY', 'DS', 'TLSA', 'KEY', 'IPSECKEY']);

/** A dns/<d>.conf line exactly as v-add-dns-record would append it; every field validated as its argument would be. */
export function dnsConfLine(r: DnsConfRecord, field: string, stamp: { time: string; date: string }): string {
  const id = Arg.of('id', `${field}.id`, String(r.id)).value;
  const record = Arg.of('recordName', `${field}.record`, r.record).value;
  const type = Arg.of('recordType', `${field}.type`, r.type).value as RecordType;
  let value = Arg.recordValue(`${field}.value`, type, r.value).value;
  // The file holds SRV as "weight port target", the priority in its own field.
  if (type === 'SRV' && value.split(' ').length !== 3) throw new ArgumentError(`${field}.value`, 'SRV value must be "weight port target"');
  const priority = type === 'MX' || type === 'SRV' ? Arg.of('number', `${field}.priority`, String(r.priority ?? 10)).value : '';
  if (DOTTED.has(type) && !value.endsWith('.')) value += '.';
  if (type !== 'CAA') {
    value = value.replace(/"/g, '');
    if (!UNWRAPPED.has(type) && /[;\s]/.test(value)) value = `"${value}"`;
  }
  value = value.replace(/'/g, '%quote%');
  const ttl = r.ttl !== undefined ? ` TTL='${Arg.of('number', `${field}.ttl`, String(r.ttl)).value}'` : '';
  return `ID='${id}' RECORD='${record}' TYPE='${type}' PRIORITY='${priority}' VALUE='${value}' SUSPENDED='no' TIME='${stamp.time}' DATE='${stamp.date}'${ttl}`;
}

function recordArgs(user: string, domain: string, id: number): Arg[] {
  return [Arg.of('user', 'USER', user), Arg.of('domain', 'DOMAIN', domain), Arg.of('id', 'ID', String(id))];
}

// Hestia reads the package file as shell-style KEY='value' lines, so values are kept to a
// character set that cannot leave the quotes or expand.
export function packageFile(limits: PackageLimits): string {
  const lines: string[] = [];
  for (const [key, raw] of Object.entries(limits)) {
    if (!/^[A-Z][A-Z0-9_]{0,39}$/.test(key)) throw new TerminalError(`invalid argument package key "${key.slice(0, 40)}": keys are upper-case letters, digits and "_"`);
    const value = String(raw);
    if (!/^[A-Za-z0-9._,%:/+-]*$/.test(value) || value.length > 255) throw new TerminalError(`invalid argument package ${key}: values are letters, digits and "._,%:/+-", at most 255 characters`);
    lines.push(`${key}='${value}'`);
  }
  return lines.join('\n') + '\n';
}

