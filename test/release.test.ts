// npm run release, as an operator meets it: a fresh clone of this commit builds the tarball; the
// tarball, checked against its checksum and unpacked into an empty folder by the steps of
// docs/install.md (its own install block, run as written with /opt/hostbridge moved into a temporary
// folder), migrates and serves on the embedded SQLite database the way the shipped systemd unit
// starts it, and answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, startDaemonProcess } from './helpers/daemon.ts';
import { tmpDir } from './helpers/db.ts';
import { call } from './helpers/api.ts';

const run = (cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeout ?? 120_000, cwd: opts.cwd, env: opts.env ?? process.env });
  return { ...r, all: `${r.stdout}\n${r.stderr}${r.error ? `\n${r.error.message}` : ''}` };
};

/**
 * Puts the better-sqlite3 binary this checkout compiled where prebuild-install keeps the prebuilt
 * binary it downloads (npm's cache, _prebuilds/, named as prebuild-install names it). An operator's
 * `npm ci` downloads it from GitHub; this machine cannot reach GitHub, and compiling SQLite again
 * took from 2 to 8 minutes of the suite. The documented `npm ci --omit=dev` runs unchanged, and
 * finds the binary as it would after a download; were the name wrong, it would compile instead.
 */
function seedPrebuiltSqlite(tmp: string): void {
  const pkg = path.join(ROOT, 'node_modules/better-sqlite3');
  const version = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')).version as string;
  const url = `https://github.com/WiseLibs/better-sqlite3/releases/download/v${version}/better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const cache = path.join(process.env.npm_config_cache || path.join(os.homedir(), '.npm'), '_prebuilds');
  const digest = crypto.createHash('sha512').update(url).digest('hex').slice(0, 6);
  const file = path.join(cache, `${digest}-${path.basename(url).replace(/[^a-zA-Z0-9.]+/g, '-')}`);
  if (fs.existsSync(file)) return;
  const stage = path.join(tmp, 'prebuild');
  fs.mkdirSync(path.join(stage, 'build/Release'), { recursive: true });
  fs.copyFileSync(path.join(pkg, 'build/Release/better_sqlite3.node'), path.join(stage, 'build/Release/better_sqlite3.node'));
  fs.mkdirSync(cache, { recursive: true });
  const packed = run('tar', ['-czf', `${file}.tmp`, '-C', stage, 'build'], { cwd: tmp });
  assert.equal(packed.status, 0, packed.all);
  fs.renameSync(`${file}.tmp`, file);
}

/** The shell block that follows the `<!-- release-install` comment in docs/install.md. */
function installBlock(doc: string): string {
  const m = /<!-- release-install[^\n]*-->\n```sh\n([\s\S]*?)\n```/.exec(doc);
  assert.ok(m, 'docs/install.md has its release-install block');
  return m[1];
}

test('a fresh clone builds a release that installs, migrates and serves by docs/install.md', { timeout: 900_000 }, async () => {
  const tmp = tmpDir('hb-release-');
  let daemon: Awaited<ReturnType<typeof startDaemonProcess>> | undefined;
  try {
    // 1. A fresh clone of this commit: what is not committed cannot leak into the release.
    const src = path.join(tmp, 'src');
    const clone = run('git', ['clone', '-q', ROOT, src], { cwd: tmp });
    assert.equal(clone.status, 0, clone.all);
    const head = run('git', ['rev-parse', 'HEAD'], { cwd: ROOT }).stdout.trim();
    assert.equal(run('git', ['rev-parse', 'HEAD'], { cwd: src }).stdout.trim(), head, 'the clone is at this commit');
    // The development packages (npm ci in a real clone); the build only reads them.
    fs.symlinkSync(fs.realpathSync(path.join(ROOT, 'node_modules')), path.join(src, 'node_modules'));

    const release = run('npm', ['run', 'release'], { cwd: src, timeout: 300_000 });
    assert.equal(release.status, 0, release.all);
    const version = JSON.parse(fs.readFileSync(path.join(src, 'package.json'), 'utf8')).version as string;
    const name = `hostbridge-${version}`;
    const tarball = path.join(src, 'dist', `${name}.tar.gz`);
    assert.ok(fs.existsSync(tarball), `dist/${name}.tar.gz`);
    assert.ok(fs.existsSync(`${tarball}.sha256`), `dist/${name}.tar.gz.sha256`);

    // Owned by root once unpacked, and readable by the daemon's user whatever the builder's umask.
    const listing = run('tar', ['-tvzf', tarball], { cwd: tmp }).stdout.trim().split('\n');
    assert.ok(listing.length > 100);
    assert.deepEqual(listing.filter((l) => !/^[-d]r[-w][-x]r-[-x]r-[-x] 0\/0 /.test(l)), [], 'every entry is root\'s, readable by all and writable by root only');

    // 2. What an operator downloads: the two files, in an empty folder.
    const download = path.join(tmp, 'download');
    fs.mkdirSync(download);
    fs.copyFileSync(tarball, path.join(download, `${name}.tar.gz`));
    fs.copyFileSync(`${tarball}.sha256`, path.join(download, `${name}.tar.gz.sha256`));

    // A tarball that changed on the way fails the checksum.
    const bad = path.join(tmp, 'bad');
    fs.mkdirSync(bad);
    const bytes = fs.readFileSync(tarball);
    bytes[bytes.length >> 1] ^= 0xff;
    fs.writeFileSync(path.join(bad, `${name}.tar.gz`), bytes);
    fs.copyFileSync(`${tarball}.sha256`, path.join(bad, `${name}.tar.gz.sha256`));
    assert.notEqual(run('sha256sum', ['-c', `${name}.tar.gz.sha256`], { cwd: bad }).status, 0, 'a damaged tarball fails sha256sum -c');

    // 3. docs/install.md's install block, as written, with /opt/hostbridge and /usr/local/sbin in tmp.
    const opt = path.join(tmp, 'opt/hostbridge');
    const sbin = path.join(tmp, 'sbin');
    fs.mkdirSync(path.join(opt, 'releases'), { recursive: true });
    fs.mkdirSync(sbin);
    const doc = fs.readFileSync(path.join(src, 'docs/install.md'), 'utf8');
    const block = installBlock(doc).replaceAll('/opt/hostbridge', opt).replaceAll('/usr/local/sbin', sbin);
    seedPrebuiltSqlite(tmp);
    const install = run('bash', ['-euo', 'pipefail', '-c', block], {
      cwd: download, timeout: 600_000,
      env: { ...process.env, VERSION: version, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' },
    });
    assert.equal(install.status, 0, install.all);
    assert.match(install.stdout, /OK/, 'sha256sum -c checked the tarball');
    const current = path.join(opt, 'current');
    assert.equal(fs.realpathSync(current), fs.realpathSync(path.join(opt, 'releases', name)));
    for (const f of ['daemon/cli.js', 'migrations/index.js', 'templates/views', 'templates/tickets', 'bridge-php/modules/servers/hostbridge/hostbridge.php',
      'bridge-php/modules/addons/hostbridge/hostbridge.php', 'deploy/systemd/hostbridge.service', 'deploy/hostbridge.env.example', 'deploy/nginx/hostbridge.conf',
      'docs/install.md', 'node_modules/better-sqlite3', 'node_modules/knex']) {
      assert.ok(fs.existsSync(path.join(current, f)), `the installed release has ${f}`);
    }
    assert.equal(fs.readFileSync(path.join(current, 'COMMIT'), 'utf8').trim(), head, 'the release names its commit');
    assert.ok(!fs.existsSync(path.join(current, 'node_modules/typescript')), 'no development packages (npm ci --omit=dev)');
    assert.ok(!fs.existsSync(path.join(current, 'test')), 'no tests');
    const sources = run('find', [path.join(current, 'daemon'), '-name', '*.ts'], { cwd: tmp }).stdout.trim();
    assert.equal(sources, '', 'the daemon ships compiled');

    // 4. The configuration: the embedded default (no database URL), listening on a free port.
    const etc = path.join(tmp, 'etc');
    const state = path.join(tmp, 'state');
    fs.mkdirSync(etc);
    fs.mkdirSync(state, { mode: 0o700 });
    const envFile = path.join(etc, 'hostbridge.env');
    const example = fs.readFileSync(path.join(current, 'deploy/hostbridge.env.example'), 'utf8');
    // The example with its MySQL lines commented out and the port free for the test.
    const env = example.split('\n').map((l) => (/^HOSTBRIDGE_(DATABASE_URL|SECRET|MASTER_KEY)=/.test(l) ? `#${l}` : l))
      .map((l) => (l.startsWith('HOSTBRIDGE_LISTEN=') ? 'HOSTBRIDGE_LISTEN=127.0.0.1:0' : l)).join('\n');
    fs.writeFileSync(envFile, env, { mode: 0o600 });
    const cliEnv = {
      PATH: process.env.PATH, HOME: os.homedir(), HOSTBRIDGE_ENV_FILE: envFile, HOSTBRIDGE_HOME: current,
      HOSTBRIDGE_USER: os.userInfo().username, HOSTBRIDGE_STATE_DIR: state, HOSTBRIDGE_MIGRATE_ENV_FILE: path.join(etc, 'migrate.env'),
    };

    // 5. `hostbridge migrate` through the installed command line (section 5 of the document).
    const migrate = run(path.join(sbin, 'hostbridge'), ['migrate'], { cwd: tmp, env: cliEnv });
    assert.equal(migrate.status, 0, migrate.all);
    assert.match(migrate.stdout, /^applied: /m);
    assert.ok(fs.existsSync(path.join(state, 'hostbridge.sqlite')), 'the database is in the state directory');
    const version2 = run(path.join(sbin, 'hostbridge'), ['--version'], { cwd: tmp, env: cliEnv });
    assert.equal(version2.stdout.trim(), version);

    // 6. serve, started as the shipped unit starts it: its ExecStart, its Environment= and the environment file.
    const unit = fs.readFileSync(path.join(current, 'deploy/systemd/hostbridge.service'), 'utf8');
    const execStart = /^ExecStart=(.*)$/m.exec(unit)![1].replaceAll('/opt/hostbridge/current', current).split(/\s+/);
    assert.equal(execStart[0], '/usr/bin/node');
    const unitEnv = Object.fromEntries(/^Environment=(.*)$/m.exec(unit)![1].split(/\s+/).map((kv) => kv.split('=') as [string, string]));
    assert.equal(unitEnv.HOSTBRIDGE_DATA_DIR, '/var/lib/hostbridge');
    const fileEnv = Object.fromEntries(env.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const serveEnv = { PATH: process.env.PATH, ...unitEnv, HOSTBRIDGE_DATA_DIR: state, ...fileEnv };
    daemon = await startDaemonProcess(serveEnv, path.join(tmp, 'serve.log'), 60_000, execStart.slice(1));
    const health = await fetch(`${daemon.url}/healthz`);
    assert.equal(health.status, 200);
    const secret = fs.readFileSync(path.join(state, 'shared-secret'), 'utf8').trim();
    const status = await call(daemon.url, 'GET', '/v1/status', undefined, secret);
    assert.equal(status.status, 200, JSON.stringify(status.body));
    assert.equal(status.body.process.pid, daemon.pid, 'the installed daemon answered');
    const login = await fetch(`${daemon.url}/ui/login`);
    assert.equal(login.status, 200, 'the pages find their templates in the release');
    assert.equal(await daemon.kill('SIGTERM'), 0, 'a clean stop exits 0');
  } finally {
    await daemon?.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
