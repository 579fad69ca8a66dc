// The HestiaCP driver over Debian's real OpenSSH sshd: root vs sudo, secrets kept off argv,
// streaming with masking, connection reuse and recovery, host key pinning, timeouts, abort.
// The v-commands here are check-only stand-ins (a bash script that records what it was given),
// so these tests see exactly what reached the server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import crypto from 'node:crypto';
import { join } from 'node:path';
import { startSshd, type Sshd, type SshdUser } from '../helpers/sshd.ts';
import { waitFor } from '../helpers/db.ts';
import { HestiaDriver, HostKeyMismatchError, SshPool, SudoRefusedError, hasHestiaCode, isHestiaError, type HestiaServer } from '../../daemon/drivers/hestia/index.ts';
import { RetryableError, TerminalError, classifyError } from '../../daemon/common/errors.ts';
import { MASK } from '../../daemon/log/mask.ts';

const STANDIN = (out: string) => `#!/bin/bash
# Check-only stand-in for a Hestia v-command: records its argv (NUL-separated) and what it read.
out='${out}'
cmd=$(basename "$0")
printf '%s\\0' "$@" > "$out/$cmd.argv"
id -u > "$out/$cmd.uid"
case "$cmd" in
  v-list-sys-info)
    printf '{\\n    "sysinfo": {\\n        "HOSTNAME": "%s",\\n        "OS": "Debian",\\n        "VERSION": "12",\\n        "ARCH": "x86_64",\\n        "HESTIA": "1.10.3",\\n        "RELEASE": "release",\\n        "UPTIME": "42",\\n        "LOADAVERAGE": "0.1 / 0.2 / 0.3"\\n        }\\n}\\n' "$(hostname)" ;;
  v-add-user)
    pw=$(head -n1 "$2")
    printf '%s' "$pw" > "$out/$cmd.password"
    stat -c '%a %U' "$2" > "$out/$cmd.mode"
    # Every process's argv while the command runs: the password must be in none of them.
    for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < "$f" 2>/dev/null; echo; done > "$out/ps.txt"
    echo "debug: password file says $pw"
    if [ -e "$out/user-$1" ]; then echo "Error: user $1 exists"; exit 4; fi
    touch "$out/user-$1" ;;
  v-change-user-password)
    [[ -z "$2" && ! -t 0 ]] && read -r pw
    printf '%s' "$pw" > "$out/$cmd.password" ;;
  v-test-fail) echo "Error: $2"; exit "$1" ;;
  v-test-lines) echo "line one"; echo "line two"; echo "on stderr" >&2; printf 'no newline' ;;
  v-test-conn) echo "$SSH_CONNECTION" ;;
  v-test-sleep) echo started; exec sleep "$1" ;;
esac
`;

const NAMES = ['v-list-sys-info', 'v-add-user', 'v-change-user-password', 'v-test-fail', 'v-test-lines', 'v-test-conn', 'v-test-sleep'];

let sshd: Sshd;
let binDir: string;
let outDir: string;
const pools: SshPool[] = [];

function server(user: SshdUser, extra: Partial<HestiaServer> = {}): HestiaServer {
  return {
    id: `sshd-${user.username}`, host: sshd.host, port: sshd.port, username: user.username,
    privateKey: user.privateKey, hostKeySha256: sshd.hostKeySha256, binDir, commandTimeoutMs: 10_000, ...extra,
  };
}

function pool(): SshPool {
  const p = new SshPool();
  pools.push(p);
  return p;
}

function capture() {
  const lines: string[] = [];
  const secrets: string[] = [];
  return { lines, secrets, io: { log: (l: string) => lines.push(l), secret: (s: string | null | undefined) => { if (s) secrets.push(s); } } };
}

const argv = (cmd: string) => readFileSync(join(outDir, `${cmd}.argv`), 'utf8').split('\0').slice(0, -1);
const read = (f: string) => readFileSync(join(outDir, f), 'utf8');

before(async () => {
  sshd = await startSshd();
  binDir = join(sshd.dir, 'bin');
  outDir = join(sshd.dir, 'out');
  mkdirSync(binDir, { mode: 0o755 });
  mkdirSync(outDir, { mode: 0o777 });
  chmodSync(outDir, 0o777);
  writeFileSync(join(binDir, 'standin'), STANDIN(outDir), { mode: 0o755 });
  for (const n of NAMES) symlinkSync(join(binDir, 'standin'), join(binDir, n));
});

after(async () => {
  for (const p of pools) await p.closeAll();
  await sshd?.stop();
});

describe('HestiaCP driver over OpenSSH sshd', () => {
  it('detects root by uid and runs the command without sudo', async () => {
    const c = capture();
    const d = new HestiaDriver(pool(), server(sshd.root), c.io);
    const probe = await d.probe();
    assert.equal(probe.uid, 0);
    assert.equal(probe.isRoot, true);
    assert.equal(probe.sudo, 'root');
    assert.equal(probe.sysinfo?.HESTIA, '1.10.3');
    assert.equal(probe.hostKeySha256, sshd.hostKeySha256);
    assert.equal(probe.hostKeyPinned, true);
    assert.deepEqual(argv('v-list-sys-info'), ['json']);
    const cmdLine = c.lines.find((l) => l.startsWith('$ '));
    assert.equal(cmdLine, `$ '${binDir}/v-list-sys-info' 'json'`);
  });

  it('prefixes sudo -n for a user with passwordless sudo, and the command runs as root', async () => {
    const c = capture();
    const d = new HestiaDriver(pool(), server(sshd.sudoUser), c.io);
    const probe = await d.probe();
    assert.equal(probe.isRoot, false);
    assert.ok(probe.uid > 0);
    assert.equal(probe.sudo, 'ok');
    assert.equal(probe.sysinfo?.OS, 'Debian');
    assert.ok(c.lines.includes(`$ sudo -n '${binDir}/v-list-sys-info' 'json'`), c.lines.join('\n'));
    assert.equal(read('v-list-sys-info.uid').trim(), '0');
  });

  it("fails with a clear terminal error when the user's sudo needs a password (password login)", async () => {
    const c = capture();
    const { privateKey: _unused, ...plain } = sshd.plainUser;
    const d = new HestiaDriver(pool(), server(sshd.plainUser, { privateKey: undefined, password: plain.password }), c.io);
    const probe = await d.probe();
    assert.equal(probe.sudo, 'refused');
    assert.equal(probe.sysinfo, null);
    await assert.rejects(d.listSysInfo(), (err: unknown) => {
      assert.ok(err instanceof SudoRefusedError, String(err));
      assert.ok(err instanceof TerminalError);
      assert.equal(classifyError(err), 'terminal');
      assert.match(err.message, /sudo -n refused .*hbplain.*password is required/);
      assert.ok(!err.message.includes(plain.password));
      return true;
    });
    assert.ok(!c.lines.join('\n').includes(plain.password));
  });

  it('passes the password through a mode-600 tmp file: never on any argv, masked in the streamed output, file removed', async () => {
    const c = capture();
    const password = 'S3cret-pass;$(id)`x`';
    const d = new HestiaDriver(pool(), server(sshd.sudoUser), c.io);
    await d.addUser('alice', password, 'alice@example.com', 'default', 'Alice Smith');
    const args = argv('v-add-user');
    assert.equal(args.length, 5);
    assert.deepEqual([args[0], args[2], args[3], args[4]], ['alice', 'alice@example.com', 'default', 'Alice Smith']);
    assert.match(args[1]!, /^\/tmp\/hb-[0-9a-f]{32}$/);
    assert.equal(read('v-add-user.password'), password, 'the command read the password from the file');
    assert.equal(read('v-add-user.mode').trim(), '600 hbsudo');
    const ps = read('ps.txt');
    assert.ok(ps.includes(args[1]!), 'the process list snapshot holds the tmp path');
    assert.ok(!ps.includes(password), 'the password is on no process argv');
    assert.ok(!existsSync(args[1]!), 'tmp file removed after the command');
    assert.ok(c.secrets.includes(password), 'declared to the task as a secret');
    const log = c.lines.join('\n');
    assert.ok(!log.includes(password), log);
    assert.ok(c.lines.includes(`debug: password file says ${MASK}`), log);
  });

  it('removes the tmp file when the command fails, and reports E_EXISTS without the arguments', async () => {
    const d = new HestiaDriver(pool(), server(sshd.root));
    await d.addUser('bob', 'first-Pass1', 'bob@example.com', 'default');
    await assert.rejects(d.addUser('bob', 'second-Pass2', 'bob@example.com', 'default'), (err: unknown) => {
      assert.ok(hasHestiaCode(err, 'E_EXISTS'), String(err));
      assert.equal(err.code, 4);
      assert.equal(err.command, 'v-add-user');
      assert.equal(err.errorLine, 'Error: user bob exists');
      assert.equal(classifyError(err), 'terminal');
      assert.ok(!err.message.includes('/tmp/hb-'), err.message);
      assert.ok(!err.message.includes('second-Pass2'));
      return true;
    });
    assert.ok(!existsSync(argv('v-add-user')[1]!));
    assert.deepEqual(readdirSync('/tmp').filter((f) => /^hb-[0-9a-f]{32}$/.test(f)), []);
  });

  it('sends the new user password on stdin with an empty PASSWORD argument', async () => {
    const c = capture();
    const d = new HestiaDriver(pool(), server(sshd.sudoUser), c.io);
    await d.changeUserPassword('alice', 'N3w-Password!');
    assert.deepEqual(argv('v-change-user-password'), ['alice', '']);
    assert.equal(read('v-change-user-password.password'), 'N3w-Password!');
    assert.ok(!c.lines.join('\n').includes('N3w-Password!'));
  });

  it('streams stdout and stderr line by line', async () => {
    const c = capture();
    const d = new HestiaDriver(pool(), server(sshd.root), c.io);
    await d.runner.run('v-test-lines', []);
    // stdout and stderr are separate streams, so only each one's own order is fixed.
    assert.deepEqual(c.lines.filter((l) => !l.startsWith('$ ') && !l.startsWith('stderr: ')), ['line one', 'line two', 'no newline']);
    assert.deepEqual(c.lines.filter((l) => l.startsWith('stderr: ')), ['stderr: on stderr']);
  });

  it('maps exit codes: E_RESTART retryable, E_FORBIDEN terminal', async () => {
    const d = new HestiaDriver(pool(), server(sshd.root));
    const { Arg } = await import('../../daemon/drivers/hestia/args.ts');
    await assert.rejects(d.runner.run('v-test-fail', [Arg.of('number', 'CODE', '20'), Arg.of('name', 'MSG', 'nginx restart failed')]), (err: unknown) => {
      assert.ok(isHestiaError(err) && err.codeName === 'E_RESTART');
      assert.ok(err instanceof RetryableError);
      assert.equal(err.errorLine, 'Error: nginx restart failed');
      return true;
    });
    await assert.rejects(d.runner.run('v-test-fail', [Arg.of('number', 'CODE', '10'), Arg.of('name', 'MSG', 'forbidden')]), (err: unknown) => {
      assert.ok(isHestiaError(err) && err.codeName === 'E_FORBIDEN' && err instanceof TerminalError);
      return true;
    });
  });

  it('refuses a hostile argument before connecting', async () => {
    const p = pool();
    const d = new HestiaDriver(p, server(sshd.root, { id: 'never-connects' }));
    await assert.rejects(d.addWebDomain('alice', 'example.com; rm -rf /'), /invalid argument DOMAIN/);
    await assert.rejects(d.addUser('alice', 'pw-Secret1', '-rf@example.com', 'default'), /invalid argument EMAIL/);
    assert.equal(p.connectCount('never-connects'), 0);
  });

  it('a canary file on the SSH host proves no hostile value ever ran: refused ones never leave, allowed ones arrive inert', async () => {
    const canary = join(sshd.dir, 'canary');
    const d = new HestiaDriver(pool(), server(sshd.root));
    // Refused before any connection: shell metacharacters, leading dashes, overlong labels, IDN tricks.
    for (const domain of [`x.com;touch ${canary}`, `$(touch ${canary}).com`, `\`touch ${canary}\`.com`, '-rf.example.com', `${'a'.repeat(64)}.com`, 'pаypal.com']) {
      await assert.rejects(d.addWebDomain('alice', domain), /invalid argument DOMAIN/, domain);
    }
    await assert.rejects(d.addUser('canaryuser', 'pw-Secret1', 'c@example.com', 'default', `$(touch ${canary})`), /invalid argument NAME/);
    await assert.rejects(d.addUser('canaryuser', 'pw-Secret1', 'c@example.com', 'default', `\`touch ${canary}\``), /invalid argument NAME/);
    // A free-text NAME may hold ";" and spaces: it reaches the server single-quoted, as one word.
    const name = `x; touch ${canary}`;
    await d.addUser('canaryuser', 'pw-Secret1', 'c@example.com', 'default', name);
    assert.equal(argv('v-add-user').at(-1), name, 'the value arrived as one argument, unchanged');
    assert.equal(existsSync(canary), false, 'the canary file was created: something ran');
    assert.deepEqual(readdirSync(join(sshd.dir)).filter((f) => f.includes('canary')), []);
  });

  it('reuses one TCP connection for many commands', async () => {
    const p = pool();
    const c = capture();
    const d = new HestiaDriver(p, server(sshd.root, { id: 'reuse' }), c.io);
    for (let i = 0; i < 5; i++) await d.runner.run('v-test-conn', []);
    await Promise.all([d.listSysInfo(), d.listSysInfo(), d.listSysInfo()]);
    const conns = new Set(c.lines.filter((l) => l.startsWith('127.0.0.1 ')));
    assert.equal(conns.size, 1, [...conns].join('|'));
    assert.equal(p.connectCount('reuse'), 1);
  });

  it('reconnects after sshd restarts', async () => {
    const p = pool();
    const c = capture();
    const d = new HestiaDriver(p, server(sshd.root, { id: 'restart' }), c.io);
    await d.runner.run('v-test-conn', []);
    await sshd.restart();
    await d.runner.run('v-test-conn', []);
    const conns = c.lines.filter((l) => l.startsWith('127.0.0.1 '));
    assert.equal(conns.length, 2);
    assert.notEqual(conns[0], conns[1]);
    assert.equal(p.connectCount('restart'), 2);
  });

  it('refuses a host key that does not match the pin, naming host and both fingerprints', async () => {
    const wrong = 'SHA256:' + 'A'.repeat(43);
    const d = new HestiaDriver(pool(), server(sshd.root, { id: 'mismatch', hostKeySha256: wrong }));
    await assert.rejects(d.probe(), (err: unknown) => {
      assert.ok(err instanceof HostKeyMismatchError);
      assert.equal(classifyError(err), 'terminal');
      assert.ok(err.message.includes('127.0.0.1') && err.message.includes(wrong) && err.message.includes(sshd.hostKeySha256), err.message);
      return true;
    });
  });

  it('trusts on first use and reports the fingerprint to store', async () => {
    const seen: string[] = [];
    const p = new SshPool({ onUnpinnedHostKey: (id, host, fp) => seen.push(`${id} ${host} ${fp}`) });
    pools.push(p);
    const probe = await new HestiaDriver(p, server(sshd.root, { id: 'tofu', hostKeySha256: null })).probe();
    assert.equal(probe.hostKeyPinned, false);
    assert.equal(probe.hostKeySha256, sshd.hostKeySha256);
    assert.deepEqual(seen, [`tofu 127.0.0.1 ${sshd.hostKeySha256}`]);
  });

  it('rejects bad credentials as terminal', async () => {
    const d = new HestiaDriver(pool(), server(sshd.plainUser, { id: 'badpw', privateKey: undefined, password: 'wrong-password' }));
    await assert.rejects(d.probe(), (err: unknown) => {
      assert.equal(classifyError(err), 'terminal');
      assert.match((err as Error).message, /authentication failed/);
      assert.ok(!(err as Error).message.includes('wrong-password'));
      return true;
    });
  });

  it('times out a command (retryable) and keeps the connection usable', async () => {
    const p = pool();
    const { Arg } = await import('../../daemon/drivers/hestia/args.ts');
    const d = new HestiaDriver(p, server(sshd.root, { id: 'timeout', commandTimeoutMs: 400 }));
    const t0 = Date.now();
    await assert.rejects(d.runner.run('v-test-sleep', [Arg.of('number', 'SECONDS', '7')]), (err: unknown) => {
      assert.ok(err instanceof RetryableError);
      assert.match((err as Error).message, /timed out after 400 ms/);
      return true;
    });
    assert.ok(Date.now() - t0 < 3000);
    // The same pooled connection answers the next command; that one gets a timeout a loaded machine
    // cannot trip, so only the first command's timeout is under test.
    const next = new HestiaDriver(p, server(sshd.root, { id: 'timeout', commandTimeoutMs: 30_000 }));
    assert.ok(await next.listSysInfo());
    assert.equal(p.connectCount('timeout'), 1);
  });

  it('an AbortSignal cancels a running command and the remote process ends', async () => {
    const ac = new AbortController();
    const { Arg } = await import('../../daemon/drivers/hestia/args.ts');
    const d = new HestiaDriver(pool(), server(sshd.root, { id: 'abort' }), { signal: ac.signal });
    // A length no other test sleeps for, so its process can be told apart from theirs.
    const seconds = String(1000 + crypto.randomInt(9000));
    const sleeping = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).some((p) => {
      try { return readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\u0000${seconds}\u0000`; } catch { return false; }
    });
    const run = d.runner.run('v-test-sleep', [Arg.of('number', 'SECONDS', seconds)]);
    let failedEarly: unknown = null;
    run.catch((err: unknown) => { failedEarly = err; });
    // Abort once the remote command is running, however long the connection took.
    await waitFor('the remote sleep to start', async () => {
      if (failedEarly) throw failedEarly;
      return sleeping();
    }, 20_000);
    const aborted = Date.now();
    ac.abort();
    await assert.rejects(run, /aborted/);
    assert.ok(Date.now() - aborted < 3000, 'the command returned soon after the abort');
    await waitFor('the remote sleep to end', async () => !sleeping(), 10_000);
  });
});
