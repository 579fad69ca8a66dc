// The customer's passwords go nowhere but the node (issue 13), on an emulated Split fleet (one web
// node with a MySQL server, one mail node) and the WHMCS External API stand-in on MariaDB. Through
// the signed API, a mailbox, a database and an FTP account are created and their passwords changed
// (passwords with quotes, `$(...)`, a backslash and non-ASCII letters where each rule allows them),
// and the admin sets a mailbox password through the Hosting tab inside WHMCS;
// each password reaches its node (the node's stored hash is the emulator's hash of it) through a
// mode-600 /tmp file, whose path (never the password) is on the node's command line. Then the node
// refuses each of those commands for good (HestiaCP exit 13, E_DISK, not retried), echoing the
// password in its error as a careless SQL error would: each task fails, and a ticket per operation
// (a note for a second failure of one) is opened in WHMCS. None of the passwords is then in the
// daemon's own log output, in any column of any of its tables (tasks, attempts, chains, Operation
// Log, admin actions, ticket outbox and notes...), in what WHMCS received (the API calls and its
// ticket tables), on the nodes (command logs and every file: only hashes), in the customer's panel
// tabs or the admin's Hosting tabs; and the sealed secrets are gone once the chains ended. Each
// place searched is first shown to hold what the actions did, so a search of nothing cannot pass.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { T } from '../../daemon/common/tables.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { MASK } from '../../daemon/log/mask.ts';
import { call } from '../helpers/api.ts';
import { createTestDb, DIALECTS, waitFor, type TestDb } from '../helpers/db.ts';
import { TEST_MASTER_KEY } from '../helpers/daemon.ts';
import type { EmulatedNode } from '../helpers/fleet.ts';
import { panelHelpers, startPanelWorld, type PanelWorld } from '../helpers/hosting-panel.ts';
import { createWhmcsTables, startWhmcsStandin, type WhmcsStandin } from '../helpers/whmcs.ts';
import { paths, readCommandLog } from '../emulator/hestia/index.ts';
import { readObjects } from '../emulator/hestia/conf.ts';
import { addDbHost } from '../emulator/hestia/commands/databases.ts';
import { passwordHash } from '../emulator/hestia/commands/users.ts';

const WHMCS_ID = 8951;
const DOMAIN = 'secrets8951.example';
const CLIENT = 9;
const KEY = Buffer.from(TEST_MASTER_KEY, 'hex');
const CREDS = { identifier: 'hbIdentSecrets01', secret: 'hbApiSecret-secrets-5566' };
const SENDER = 'hostbridge@billing.example.com';
const ADMIN = { id: 3, username: 'wendy' };

// Each password holds a token of its own (letters and digits only, so no escaping hides it) and
// whatever its field's rule allows of quotes, `$(...)`, a backslash and non-ASCII letters. Mailbox
// passwords are printable ASCII; database passwords refuse quotes and backslashes.
const PW = {
  mailCreate: `Zq1mlcrA'"$(id)\\x`,
  mailChange: `Zq2mlchB"$(reboot)'\\y`,
  mailCreateFail: `Zq3mlcfC\\$(touch /tmp/pwn)'"`,
  mailCreateFail2: `Zq4mlcgD'$(uname -a)"\\`,
  mailChangeFail: `Zq5mlhfE"\\'$(whoami)`,
  dbCreate: 'Zq6dbcrF$(whoami)Pässwörd',
  dbChange: 'Zq7dbchG-Dβ-$(id)-Ωk',
  dbCreateFail: 'Zq8dbcfH-$(ls /)-Ünï',
  dbChangeFail: 'Zq9dbhfJ-ça-$(id)-Ж',
  ftpCreate: `Zr1ftcrK'"$(ls)\\Ünï`,
  ftpChange: `Zr2ftchL-nëw-'$(cat /etc/shadow)'\\`,
  ftpCreateFail: `Zr3ftcfM"$(halt)\\ß'`,
  ftpChangeFail: `Zr4fthfN'\\$(id)"€`,
  mailAdmin: `Zr5mladP'"$(id)\\q`,
} as const;
const ALL = Object.entries(PW);
const TOKEN = /^Z[qr]\d[a-z]{4}[A-Z]/;

/** The forms a leak could take: as typed, inside JSON, HTML-escaped (Handlebars), URL-encoded, and its token. */
function forms(p: string): string[] {
  const html = p.replace(/[&<>"'`=]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;', '`': '&#x60;', '=': '&#x3D;' })[c]!);
  return [p, JSON.stringify(p).slice(1, -1), html, encodeURIComponent(p), new URLSearchParams({ x: p }).toString().slice(2), TOKEN.exec(p)![0]];
}
/** The passwords (by name) found in `text` in any of their forms; the values themselves are never printed. */
function leaks(text: string): string[] {
  return ALL.filter(([, p]) => forms(p).some((f) => text.includes(f))).map(([name]) => name);
}

/** Every value of every row, as text (a Buffer read as UTF-8, an object as JSON). */
function cells(rows: Array<Record<string, unknown>>): string {
  const out: string[] = [];
  for (const r of rows) {
    for (const v of Object.values(r)) {
      if (v === null || v === undefined) continue;
      out.push(Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'object' ? JSON.stringify(v) : String(v));
    }
  }
  return out.join('\n');
}

/** Every file under dir, as text. */
function filesUnder(dir: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath, e.name);
    out.push([p, fs.readFileSync(p).toString('utf8')]);
  }
  return out;
}

for (const dialect of DIALECTS) {
  describe(`the customer's passwords reach the node and nothing else (${dialect})`, () => {
    let world: PanelWorld;
    let tdb: TestDb;
    let whmcsDb: TestDb;
    let whmcs: WhmcsStandin;
    let web: EmulatedNode;
    let mail: EmulatedNode;
    let webUser: string;
    let mailUser: string;
    /** The daemon's log output, at debug level, from the moment the service is active. */
    const logged: string[] = [];
    /** The chains that failed, for the ticket checks: operation → chain id. */
    const failed: Array<{ operation: string; chainId: number }> = [];

    const { chainEnds } = panelHelpers(() => world, WHMCS_ID, CLIENT);
    const act = (action: string, fields: Record<string, string>) =>
      call(world.daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel/actions`, { client_id: CLIENT, action, fields });
    const queued = async (action: string, fields: Record<string, string>) => {
      const r = await act(action, fields);
      assert.equal(r.status, 200, `${action}: ${r.status} ${r.body?.error ?? ''}`);
      return Number(r.body.chain_id);
    };
    const succeeds = async (action: string, fields: Record<string, string>) => {
      assert.equal(await chainEnds(await queued(action, fields)), 'succeeded', action);
    };
    /**
     * The node refuses `command` once with exit 13 (E_DISK, terminal), echoing the password on
     * stdout and stderr: the chain fails on that error, masked.
     */
    const failsFor = async (node: EmulatedNode, command: string, action: string, fields: Record<string, string>) => {
      const password = fields.password!;
      const from = readCommandLog(node.dir).length;
      await node.ssh.setFault({ kind: 'exit', match: new RegExp(`/${command}'`), code: 13, message: `Error: not enough disk space; mysql: ERROR 1064 near '${password}'`, stderr: `${command}: ${password}\n`, times: 1 });
      let chainId: number;
      let outcome: string;
      try {
        chainId = await queued(action, fields);
        outcome = await chainEnds(chainId);
      } finally {
        await node.ssh.setFault(null);
      }
      assert.match(outcome, new RegExp(`^failed: ${command} on .+ failed with E_DISK \\(13\\): Error: not enough disk space`), action);
      assert.ok(outcome.includes(`near '${MASK}'`), `${action}: the password the node echoed is masked in the error`);
      failed.push({ operation: action, chainId });
      // The password went to a /tmp file; the refused command named that file, which was then removed.
      const lines = readCommandLog(node.dir).slice(from).map((e) => e.command);
      const file = new RegExp(`/${command}' .*'(/tmp/hb-[0-9a-f]{32})'`).exec(lines.find((l) => l.includes(`/${command}'`)) ?? '')?.[1];
      assert.ok(file, `${action}: the refused ${command} named a /tmp/hb- file: ${lines.join(' | ')}`);
      assert.ok(lines.some((l) => l.includes(`install -m 600 /dev/stdin '${file}'`)), `${action}: the file was written from stdin`);
      assert.ok(lines.some((l) => l.includes(`rm -f '${file}'`)), `${action}: the file was removed`);
    };

    const mailConf = () => fs.readFileSync(paths.userFile(mail.dir, mailUser, `mail/${DOMAIN}.conf`), 'utf8');
    const dbHash = (db: string) => readObjects(paths.userFile(web.dir, webUser, 'db.conf')).find((o) => o.get('DB') === db)?.get('MD5');
    const ftpHash = (account: string) => {
      const line = fs.readFileSync(paths.userFile(web.dir, webUser, 'web.conf'), 'utf8').split('\n').find((l) => l.includes(`DOMAIN='${DOMAIN}'`)) ?? '';
      const users = (/FTP_USER='([^']*)'/.exec(line)?.[1] ?? '').split(':');
      return (/FTP_MD5='([^']*)'/.exec(line)?.[1] ?? '').split(':')[users.indexOf(account)];
    };
    const pages = async () => {
      const out: Record<string, string> = {};
      for (const tab of ['overview', 'mailboxes', 'databases', 'ftp']) {
        const r = await call(world.daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel`, { client_id: CLIENT, tab });
        assert.equal(r.status, 200, `client tab ${tab}: ${r.status}`);
        out[`client ${tab}`] = r.body.html as string;
        const a = await call(world.daemon.url, 'POST', '/v1/admin/pages', { admin: ADMIN, page: `services/${WHMCS_ID}`, query: `tab=hosting&htab=${tab}` });
        assert.equal(a.status, 200, `admin tab ${tab}: ${a.status}`);
        out[`admin ${tab}`] = `${a.body.title}\n${a.body.html}`;
      }
      return out;
    };

    before(async () => {
      world = await startPanelWorld(dialect, 'hb-hp-secrets-', { web: 1, mail: 1, dns: 0, combo: 0, pdns: false }, WHMCS_ID, {
        service: { domain: DOMAIN, client_id: CLIENT },
        hostingPlan: { name: 'secrets', web: { ftp_accounts: 5, databases: 5 }, mail: { accounts: 5 } },
        configOptions: (plan) => ({ configoption16: String(plan) }),
        quiet: 'node-work',
        // A refusal is terminal anyway (E_DISK); should it be retried, the retries end fast.
        settings: [['retry.max_attempts', '2'], ['retry.base_ms', '100'], ['retry.cap_ms', '200']],
      });
      tdb = world.tdb;
      const { svc, fleet, reg } = world;
      webUser = svc.plan!.names.users.web!;
      mailUser = svc.plan!.names.users.mail!;
      web = fleet.node(reg.names[svc.plan!.placement.web!]!);
      mail = fleet.node(reg.names[svc.plan!.placement.mail!]!);
      addDbHost(web.dir, { type: 'mysql' });

      // The daemon's own logger (the tests' is quiet): everything it writes, debug and up, kept here.
      const logger = world.daemon.core.logger;
      logger.add(new winston.transports.Stream({ level: 'debug', stream: new Writable({ write(chunk, _e, cb) { logged.push(String(chunk)); cb(); } }) }));
      logger.level = 'debug';

      // WHMCS: its tables beside the daemon's on MariaDB, in a MariaDB database of its own beside SQLite.
      whmcsDb = dialect === 'mysql' ? tdb : await createTestDb('mysql', { migrate: false });
      await createWhmcsTables(whmcsDb.db);
      await whmcsDb.db('tblticketdepartments').insert({ id: 3, name: 'Technical', description: '', email: 'tech@example.com', clientsonly: '', piperepliesonly: '', noautoresponder: '', hidden: '', order: 1 });
      whmcs = await startWhmcsStandin(whmcsDb.db, CREDS);
      for (const [k, v] of [['tickets.department_id', '3'], ['whmcs.api_url', whmcs.url], ['whmcs.api_identifier', CREDS.identifier], ['tickets.sender_email', SENDER], ['tickets.enabled', 'true']] as const) await writeSetting(tdb.db, k, v);
      await writeSetting(tdb.db, 'whmcs.api_secret', CREDS.secret, KEY);
      await world.daemon.core.settings.refresh();
    });
    after(async () => {
      await web?.ssh.setFault(null).catch(() => {});
      await mail?.ssh.setFault(null).catch(() => {});
      await whmcs?.stop().catch(() => {});
      await world?.close();
      if (whmcsDb && whmcsDb !== tdb) await whmcsDb.drop().catch(() => {});
    });

    test('the passwords are checked by their own rules (the test\'s passwords are the ones each field takes)', () => {
      for (const [name, p] of ALL) {
        assert.match(p, /\$\(/, name);
        if (name.startsWith('mail') || name.startsWith('ftp')) assert.match(p, /['"]/, name);
        if (name.startsWith('mail') || name.startsWith('ftp')) assert.match(p, /\\/, name);
        if (!name.startsWith('mail')) assert.match(p, /[^\x00-\x7e]/, name);
      }
      assert.equal(new Set(ALL.map(([, p]) => TOKEN.exec(p)![0])).size, ALL.length, 'each password has its own token');
    });

    test('create and change password succeed for a mailbox, a database and an FTP account; each node holds the hash, its command line only the /tmp file', async () => {
      const from = { web: readCommandLog(web.dir).length, mail: readCommandLog(mail.dir).length };
      await succeeds('mailbox-create', { name: 'info', password: PW.mailCreate });
      assert.ok(mailConf().includes(passwordHash(PW.mailCreate)), 'the mailbox has the password typed');
      await succeeds('mailbox-password', { name: 'info', password: PW.mailChange });
      assert.ok(mailConf().includes(passwordHash(PW.mailChange)), 'the mailbox has the new password');
      // The admin sets one too, through the Hosting tab inside WHMCS (the addon's embedded page).
      const form = new URLSearchParams({ hb_action: 'mailbox-password', htab: 'mailboxes', hbf_name: 'info', hbf_password: PW.mailAdmin }).toString();
      const posted = await call(world.daemon.url, 'POST', '/v1/admin/pages', { admin: ADMIN, method: 'POST', page: `services/${WHMCS_ID}/hosting`, form, token: 't0k' });
      assert.equal(posted.body.status, 303, `the admin's form: ${posted.status}`);
      const adminChain = Number(/[?&]chain=(\d+)/.exec(String(posted.body.location))?.[1]);
      assert.equal(await chainEnds(adminChain), 'succeeded', 'the admin\'s password change');
      assert.ok(mailConf().includes(passwordHash(PW.mailAdmin)), 'the mailbox has the admin\'s password');
      await succeeds('mailbox-password', { name: 'info', password: PW.mailChange });
      assert.ok(mailConf().includes(passwordHash(PW.mailChange)), 'the mailbox has the customer\'s password again');

      await succeeds('database-create', { name: 'shop', db_user: '', password: PW.dbCreate, type: 'mysql', charset: '' });
      assert.equal(dbHash(`${webUser}_shop`), passwordHash(PW.dbCreate), 'the database user has the password typed');
      await succeeds('database-password', { database: `${webUser}_shop`, password: PW.dbChange });
      assert.equal(dbHash(`${webUser}_shop`), passwordHash(PW.dbChange), 'the database user has the new password');

      await succeeds('ftp-create', { name: 'up', password: PW.ftpCreate, path: 'uploads' });
      assert.equal(ftpHash(`${webUser}_up`), passwordHash(PW.ftpCreate), 'the FTP account has the password typed');
      await succeeds('ftp-password', { account: `${webUser}_up`, password: PW.ftpChange });
      assert.equal(ftpHash(`${webUser}_up`), passwordHash(PW.ftpChange), 'the FTP account has the new password');

      // HestiaCP reads each password from a file: the command line names the file, never the password.
      const ran = [...readCommandLog(mail.dir).slice(from.mail), ...readCommandLog(web.dir).slice(from.web)].filter((e) => e.ran);
      for (const cmd of ['v-add-mail-account', 'v-change-mail-account-password', 'v-add-database', 'v-change-database-password', 'v-add-web-domain-ftp', 'v-change-web-domain-ftp-password']) {
        const line = ran.find((e) => e.command.includes(`/${cmd}'`));
        assert.ok(line, `${cmd} ran`);
        assert.match(line.command, /\/tmp\/hb-[0-9a-f]{32}/, `${cmd} was given a /tmp file`);
      }
    });

    test('the node refuses each of them for good: the tasks fail with its (masked) error and WHMCS gets a ticket per operation', async () => {
      await failsFor(mail, 'v-add-mail-account', 'mailbox-create', { name: 'sales', password: PW.mailCreateFail });
      await failsFor(mail, 'v-add-mail-account', 'mailbox-create', { name: 'support', password: PW.mailCreateFail2 });
      await failsFor(mail, 'v-change-mail-account-password', 'mailbox-password', { name: 'info', password: PW.mailChangeFail });
      await failsFor(web, 'v-add-database', 'database-create', { name: 'blog', db_user: '', password: PW.dbCreateFail, type: 'mysql', charset: '' });
      await failsFor(web, 'v-change-database-password', 'database-password', { database: `${webUser}_shop`, password: PW.dbChangeFail });
      await failsFor(web, 'v-add-web-domain-ftp', 'ftp-create', { name: 'down', password: PW.ftpCreateFail });
      await failsFor(web, 'v-change-web-domain-ftp-password', 'ftp-password', { account: `${webUser}_up`, password: PW.ftpChangeFail });
      // The passwords that worked still do: a refused change changed nothing.
      assert.ok(mailConf().includes(passwordHash(PW.mailChange)));
      assert.equal(dbHash(`${webUser}_shop`), passwordHash(PW.dbChange));
      assert.equal(ftpHash(`${webUser}_up`), passwordHash(PW.ftpChange));

      // One ticket per failed operation in the outbox; the second mailbox-create failure is a note on its ticket.
      const svcId = world.svc.id;
      const outbox = await tdb.db(T.ticketOutbox).where('service_id', svcId).orderBy('id');
      assert.deepEqual(outbox.map((o) => o.operation).sort(), ['database-create', 'database-password', 'ftp-create', 'ftp-password', 'mailbox-create', 'mailbox-password']);
      const notes = await tdb.db(T.ticketNotes).whereIn('outbox_id', outbox.map((o) => o.id));
      assert.equal(notes.length, 1, 'the second failure of mailbox-create is a note');

      // Delivered to WHMCS (the daemon's own scheduler may take a turn too: either way, all of them end delivered).
      await waitFor('the tickets and the note delivered', async () => {
        await world.daemon.core.scheduler.runNow('deliver-tickets', () => {});
        const o = await tdb.db(T.ticketOutbox).where('service_id', svcId).pluck('state');
        const n = await tdb.db(T.ticketNotes).whereIn('outbox_id', outbox.map((x) => x.id)).pluck('state');
        return [...o, ...n].every((s) => s === 'delivered');
      }, 30_000, 200);
      const tickets = await whmcsDb.db('tbltickets').orderBy('id');
      assert.equal(tickets.length, 6);
      for (const op of ['mailbox-create', 'mailbox-password', 'database-create', 'database-password', 'ftp-create', 'ftp-password']) {
        assert.ok(tickets.some((k) => k.title.includes(`${op} failed`)), `a ticket for ${op}: ${tickets.map((k) => k.title).join(' | ')}`);
      }
      assert.ok(tickets.every((k) => /E_DISK/.test(k.message)), 'each ticket carries the node\'s error');
      const whmcsNotes = await whmcsDb.db('tblticketnotes');
      assert.equal(whmcsNotes.length, 1);
      assert.match(whmcsNotes[0].message, /E_DISK/);
      assert.deepEqual(whmcs.calls.map((c) => c.action).sort(), [...Array(6).fill('OpenTicket'), 'AddTicketNote'].sort());
    });

    test('no password is in the daemon\'s log, its tables, what WHMCS received, the nodes\' logs and files, or the pages; no sealed secret is kept', async () => {
      assert.equal(failed.length, 7, 'the failures ran first');
      const hay: Record<string, string> = {};

      // The daemon's log output: the actions' task lines are there (debug), with their errors.
      hay['daemon log'] = logged.join('');
      for (const c of ['v-add-mail-account', 'v-change-database-password', 'v-add-web-domain-ftp', 'E_DISK']) assert.ok(hay['daemon log'].includes(c), `the daemon log mentions ${c}`);

      // Every column of every table the daemon owns.
      for (const table of Object.values(T)) {
        if (table === T.migrations) continue;
        hay[table] = cells(await tdb.db(table).select());
      }
      for (const [table, mentions] of [[T.tasks, 'mailbox.create'], [T.attempts, 'E_DISK'], [T.chains, 'ftp-password'], [T.oplog, 'database-password'], [T.ticketOutbox, 'E_DISK'], [T.ticketNotes, 'E_DISK'], [T.services, DOMAIN], [T.adminActions, 'mailbox-password']] as const) {
        assert.ok(hay[table]!.includes(mentions), `${table} mentions ${mentions}`);
      }
      // What WHMCS was sent and what it keeps.
      hay['WHMCS API calls'] = whmcs.calls.map((c) => JSON.stringify(c) + '\n' + Object.values(c.params).join('\n')).join('\n');
      hay.tbltickets = cells(await whmcsDb.db('tbltickets').select());
      hay.tblticketnotes = cells(await whmcsDb.db('tblticketnotes').select());
      assert.match(hay['WHMCS API calls'], /mailbox-create failed/);
      assert.match(hay.tbltickets, /ftp-password failed/);

      // The nodes: their command logs, and every file they hold (the passwords only as hashes).
      for (const node of [web, mail]) {
        hay[`${node.name} command log`] = readCommandLog(node.dir).map((e) => `${e.command}\n${(e.argv ?? []).join('\n')}\n${e.note ?? ''}`).join('\n');
        for (const [file, text] of filesUnder(node.dir)) hay[`${node.name}: ${path.relative(node.dir, file)}`] = text;
        assert.deepEqual(fs.readdirSync(paths.tmp(node.dir)).filter((f) => f.startsWith('hb-')), [], `no /tmp file is left on ${node.name}`);
      }
      assert.match(hay[`${mail.name} command log`]!, /v-change-mail-account-password'/);
      assert.match(hay[`${web.name} command log`]!, /v-change-web-domain-ftp-password'/);

      // The pages: the customer's panel tabs and the admin's Hosting tabs, which list what was made.
      const shown = await pages();
      Object.assign(hay, shown);
      assert.match(shown['client mailboxes']!, /info@secrets8951\.example/);
      assert.match(shown['client databases']!, new RegExp(`${webUser}_shop`));
      assert.match(shown['client ftp']!, new RegExp(`${webUser}_up`));
      assert.match(shown['admin mailboxes']!, /info@secrets8951\.example/);

      for (const [where, text] of Object.entries(hay)) {
        assert.deepEqual(leaks(text), [], `a password is in ${where}`);
      }
      // The test's own search finds a password where one is (so the search above is not blind).
      assert.deepEqual(leaks(JSON.stringify({ x: PW.mailCreate })), ['mailCreate']);
      assert.deepEqual(leaks(`<td>${PW.ftpChange.replace(/'/g, '&#x27;').replace(/"/g, '&quot;')}</td>`), ['ftpChange']);

      // Secrets of ended chains are swept when the next action is queued; this queues one.
      await succeeds('usage-sync', {});
      assert.equal(Number(((await tdb.db(T.panelSecrets).count({ n: '*' }).first()) as { n: number }).n), 0, 'no sealed secret is kept');
    });
  });
}
