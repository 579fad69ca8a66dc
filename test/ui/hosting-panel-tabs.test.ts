// The customer's hosting panel's Databases, FTP, Cron jobs, Web settings and Backups tabs inside the
// WHMCS client area (issue 13), in Chromium, on MariaDB: a Split service on an emulated fleet (a web
// node with a MySQL server and PHP/proxy templates to choose, a mail node) and a hosting plan of
// 1 FTP account, 3 cron jobs, 3 aliases and 2 databases, a WHMCS client area stand-in
// (test/whmcs-client/router.php) running the real PHP module, and a customer who logs in there and,
// through the module's ClientArea output and HostingAction/HostingLive only:
//  - Databases: creates one (the fleet slowed: the progress is seen and the forms are off), reads
//    it listed with its engine, charset and state, changes its password, deletes it; each on the node;
//  - FTP: creates an account in a folder, changes its password and folder, deletes it; at the plan's
//    limit the form is gone and a forged create is refused in the plan's words, nothing queued;
//  - Cron: adds a job, edits it to a command with shell and markup in it (stored on the node exactly
//    as typed, shown as text, never run), suspends it, deletes it; a backtick, a newline, a too
//    long command and a --flag schedule are refused naming the field;
//  - Web settings: changes the PHP and proxy templates among the node's, adds and removes an alias;
//    an IDN look-alike, another domain, markup, a --flag and 300 characters are refused in words;
//  - Backups: backs up web and mail now (the progress is seen), restores the databases after one is
//    deleted (it is back on the node), deletes the backup; forged archives and parts are refused;
//  - hostile values in the tabs' text fields are refused naming the field or shown as inert text: no
//    dialog, no script run, no element made from a value; typed passwords are in no page.
// Screenshots go to test-artifacts/screenshots/hosting-panel-tabs-*.png.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { T } from '../../daemon/common/tables.ts';
import { TEST_SECRET } from '../helpers/daemon.ts';
import { tmpDir, waitFor } from '../helpers/db.ts';
import type { EmulatedNode } from '../helpers/fleet.ts';
import { startPanelWorld, type PanelWorld } from '../helpers/hosting-panel.ts';
import { paths, runHestia } from '../emulator/hestia/index.ts';
import { readObjects } from '../emulator/hestia/conf.ts';
import { addDbHost } from '../emulator/hestia/commands/databases.ts';
import { passwordHash } from '../emulator/hestia/commands/users.ts';
import { setWebTemplates, TYPICAL_WEB_TEMPLATES } from '../emulator/hestia/commands/web-templates.ts';
import { requireChromium, SHOTS, launchChromium } from './harness.ts';
import { loginToClientArea, startWhmcsClientArea, type WhmcsClientArea } from './whmcs-client-harness.ts';

const ID = 9701;
const DOMAIN = 'hptabs9701.example';
const EMAIL = 'tabs-owner@example.com';
const LOGIN = 'Client-Login-Tabs-5';
const DB_PW = ['Db-UI-Secret-71x', 'Db-UI-Secret-82y', 'Db-UI-Secret-93z'];
const FTP_PW = ['Ftp-UI-Secret-14w', 'Ftp-UI-Secret-25v'];
const OK = 'Action completed successfully';
/** A folder of 100 characters (the most HestiaCP's argument takes), one word: it must wrap, not widen the page. */
const LONG_FOLDER = `public_html/${'long-folder-name.'.repeat(5)}${'y'.repeat(3)}`;
/** A command of 990 characters without a space (a URL with a long token), which is allowed. */
const LONG_COMMAND = `curl -fsS https://example.net/hook?token=${'k'.repeat(940)}`;
const SCRIPT = '<script>window.__pwned=1</script>';
/** Hostile text for a name field: markup, quotes, a flag, 300 characters, a Cyrillic look-alike. */
const HOSTILE_NAMES = [SCRIPT, '"quoted\'name', '--flag', 'a'.repeat(300), 'ѕhop'];

describe('the customer\'s Databases, FTP, Cron, Web settings and Backups tabs in the WHMCS client area (mysql)', () => {
  let world: PanelWorld;
  let whmcs: WhmcsClientArea;
  let browser: Browser;
  let page: Page;
  let web: EmulatedNode;
  let mail: EmulatedNode;
  let user: string;
  let mailUser: string;
  let markerDir: string;
  const seen: string[] = [];
  const dialogs: string[] = [];
  const tabUrl = (tab: string) => `${whmcs.url}/clientarea.php?action=productdetails&id=${ID}&hbtab=${tab}`;
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `hosting-panel-tabs-${name}.png`), fullPage: true });
  const result = async () => (await page.locator('#module-result').textContent())?.trim() ?? '';
  const pwned = () => page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned);
  const chainCount = async () => Number(((await world.tdb.db(T.chains).where('service_id', world.svc.id).count({ n: '*' }).first()) as { n: number }).n);
  const settled = async () => {
    await waitFor('the panel to show no action in progress', async () => {
      try {
        return (await page.getAttribute('.hp-panel', 'data-busy', { timeout: 500 })) === '0';
      } catch {
        return false; // between two documents
      }
    }, 60_000, 200);
  };
  /** Nothing from a value ran or became an element: no dialog, no script but the panel's, no stray markup. */
  const inert = async (what: string) => {
    assert.deepEqual(dialogs, [], `${what}: a dialog opened`);
    assert.equal(await pwned(), undefined, `${what}: a script ran`);
    assert.equal(await page.locator('.hp-panel script').count(), 1, `${what}: only the panel script`);
    assert.equal(await page.locator('.hp-panel b, .hp-panel img, .hp-panel iframe').count(), 0, `${what}: no element made from a value`);
  };
  /** The tab's table stays inside the panel (a long value wraps instead of pushing it wider). */
  const fits = async (box: string, table: string) => {
    const w = await page.$eval(box, (el, t) => ({ box: el.clientWidth, table: el.querySelector(t)!.scrollWidth }), table);
    assert.ok(w.table <= w.box, `${table} (${w.table}px) overflows ${box} (${w.box}px)`);
  };
  /** The typed passwords are in no page content nor the Module Log. */
  const noPasswords = async (passwords: string[]) => {
    const html = await page.content();
    const log = JSON.stringify(whmcs.moduleLog());
    for (const p of passwords) {
      assert.ok(!html.includes(p), 'a password is in the page');
      assert.ok(!log.includes(p), 'a password is in the Module Log');
    }
  };
  /**
   * Submits a form of the page with these values, as a forged request would: the browser's own checks
   * (pattern, maxlength, required, a select's options, an input's newline stripping) are off, each
   * named field becomes a textarea holding exactly the value.
   */
  const forge = async (form: string, values: Record<string, string>) => {
    await page.$eval(form, (f, vals) => {
      document.getElementById('module-result')?.remove(); // the answer read is the next page's
      const el = f as HTMLFormElement;
      el.noValidate = true;
      for (const [name, v] of Object.entries(vals)) {
        const t = document.createElement('textarea');
        t.name = name;
        t.value = v;
        t.style.display = 'none';
        const have = el.querySelector(`[name="${name}"]`);
        if (have) have.replaceWith(t); else el.appendChild(t);
      }
    }, values);
    await page.locator(`${form} button[type="submit"]`).click();
    return result();
  };
  /** Posts an action the page offers no form for (a form built from the tab's action URL and token). */
  const post = async (action: string, fields: Record<string, string>) => {
    await page.evaluate(({ action, fields }) => {
      document.getElementById('module-result')?.remove(); // the answer read is the next page's
      const any = document.querySelector('.hp-panel form') as HTMLFormElement;
      const f = document.createElement('form');
      f.method = 'post';
      f.action = any.getAttribute('action')!;
      f.id = 'forged';
      const token = (any.querySelector('input[name="token"]') as HTMLInputElement).value;
      for (const [name, value] of [['hb_action', action], ['token', token], ...Object.entries(fields).map(([k, v]) => [`hbf_${k}`, v])]) {
        const t = document.createElement('textarea');
        t.name = name!;
        t.value = value!;
        f.appendChild(t);
      }
      const b = document.createElement('button');
      b.type = 'submit';
      f.appendChild(b);
      document.querySelector('.hp-panel')!.appendChild(f);
    }, { action, fields });
    await page.locator('#forged button').click();
    return result();
  };
  /** A form action that must be accepted: the page follows its chain to the end, which succeeded. */
  const accepted = async (r: string | Promise<string>) => {
    const answer = await r;
    assert.equal(answer, OK, answer);
    await settled();
    const db = world.tdb.db;
    const chain = await db(T.chains).where('service_id', world.svc.id).orderBy('id', 'desc').first('id', 'operation', 'state');
    const errors = (await db(T.tasks).where('chain_id', chain.id).pluck('last_error')).filter(Boolean);
    assert.equal(chain.state, 'succeeded', `${chain.operation}: ${errors.join('; ')}`);
  };

  // --- what the nodes hold ---
  const dbsOnNode = () => readObjects(paths.userFile(web.dir, user, 'db.conf')).map((o) => ({ db: o.get('DB'), user: o.get('DBUSER'), type: o.get('TYPE'), charset: o.get('CHARSET'), md5: o.get('MD5') }));
  const webDomain = () => {
    const r = runHestia(web.dir, 'v-list-web-domains', [user, 'json']);
    assert.equal(r.code, 0, r.stdout);
    return (JSON.parse(r.stdout) as Record<string, Record<string, string>>)[DOMAIN]!;
  };
  const ftpOnNode = () => {
    const line = readObjects(paths.userFile(web.dir, user, 'web.conf')).find((o) => o.get('DOMAIN') === DOMAIN)!;
    const split = (k: string) => (line.get(k) ?? '').split(':');
    const users = split('FTP_USER').filter(Boolean);
    return users.map((u, i) => ({ account: u, path: (split('FTP_PATH')[i] ?? '').replace(/^\/+/, ''), md5: split('FTP_MD5')[i] }));
  };
  const cronOnNode = () => {
    const r = runHestia(web.dir, 'v-list-cron-jobs', [user, 'json']);
    assert.equal(r.code, 0, r.stdout);
    return Object.values(JSON.parse(r.stdout) as Record<string, Record<string, string>>).map((j) => ({ id: j.JOB, schedule: `${j.MIN} ${j.HOUR} ${j.DAY} ${j.MONTH} ${j.WDAY}`, command: j.CMD, suspended: j.SUSPENDED }));
  };
  const crontab = () => (fs.existsSync(paths.crontab(web.dir, user)) ? fs.readFileSync(paths.crontab(web.dir, user), 'utf8') : '');
  const archives = (node: EmulatedNode, u: string) => readObjects(paths.userFile(node.dir, u, 'backup.conf')).map((o) => o.get('BACKUP')!);

  before(async () => {
    requireChromium();
    fs.mkdirSync(SHOTS, { recursive: true });
    world = await startPanelWorld('mysql', 'hb-hpanel-tabs-ui-', { web: 1, mail: 1, dns: 0, combo: 0, pdns: false }, ID, {
      service: { domain: DOMAIN, client_id: 7 },
      hostingPlan: { name: 'tabs-ui', web: { ftp_accounts: 1, cron_jobs: 3, aliases: 3, databases: 2 } },
      configOptions: { configoption16: 'tabs-ui' },
    });
    const { svc, fleet, reg } = world;
    user = svc.plan!.names.users.web!;
    mailUser = svc.plan!.names.users.mail!;
    web = fleet.node(reg.names[svc.plan!.placement.web!]!);
    mail = fleet.node(reg.names[svc.plan!.placement.mail!]!);
    // What a HestiaCP install with MariaDB, nginx + apache2 and PHP-FPM offers.
    addDbHost(web.dir, { type: 'mysql' });
    setWebTemplates(web.dir, 'backend', TYPICAL_WEB_TEMPLATES.backend);
    setWebTemplates(web.dir, 'proxy', TYPICAL_WEB_TEMPLATES.proxy);
    markerDir = tmpDir('hb-hpanel-tabs-marker-');
    whmcs = await startWhmcsClientArea({
      daemonUrl: world.daemon.url, secret: TEST_SECRET,
      clients: [{ id: 7, email: EMAIL, password: LOGIN, firstname: 'Olivia' }],
      services: [{ id: ID, userid: 7, packageid: 3, domain: DOMAIN, domainstatus: 'Active' }],
      products: [{ id: 3, name: 'Hosting split', configoption1: 'split' }],
    });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1300, height: 900 } })).newPage();
    page.setDefaultTimeout(15_000);
    page.on('request', (req) => seen.push(req.url()));
    page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
    await loginToClientArea(page, whmcs.url, EMAIL, LOGIN);
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await whmcs?.close();
    await world?.close();
    if (markerDir) fs.rmSync(markerDir, { recursive: true, force: true });
  });

  test('the tabs of a Split product with web and mail', async () => {
    await page.goto(tabUrl('databases'));
    if (await page.locator('#hp-databases').count() === 0) {
      throw new Error(`no Databases tab on the page:\n${(await page.innerText('body')).slice(0, 4000)}\n${JSON.stringify(whmcs.moduleLog()).slice(-3000)}\n${whmcs.output().slice(-2000)}`);
    }
    const tabs = await page.locator('.hp-panel .hb-tabs a').allTextContents();
    for (const t of ['Databases', 'FTP', 'Cron jobs', 'Web settings', 'Backups']) assert.ok(tabs.includes(t), tabs.join(', '));
  });

  test('Databases: create one and watch the progress, read it listed, change its password, delete it', async () => {
    await page.goto(tabUrl('databases'));
    assert.equal((await page.locator('#hp-databases-limit').textContent())?.trim(), '0 of 2 in use');
    assert.deepEqual(await page.locator('#hp-databases-new-type option').evaluateAll((o) => o.map((x) => (x as HTMLOptionElement).value)), ['mysql']);
    // Slowed, every node call takes a while: the page is seen while the chain runs.
    world.fleet.setLatency(400);
    try {
      await page.fill('#hp-databases-new-name', 'shop');
      await page.fill('#hp-databases-new-password', DB_PW[0]!);
      await page.selectOption('#hp-databases-new-type', 'mysql');
      await page.selectOption('#hp-databases-new-charset', 'utf8mb4');
      await page.click('#hp-databases-submit');
      assert.equal(await result(), OK);
      assert.equal(await page.getAttribute('.hp-panel', 'data-busy'), '1', 'the creation still runs when the page comes back');
      assert.match((await page.locator('#hb-progress').textContent()) ?? '', /a database being created/);
      assert.equal(await page.locator('#hb-progress').count(), 1);
      assert.equal(await page.locator('fieldset.hp-forms').getAttribute('disabled'), '');
      await shot('databases-progress');
      await waitFor('a progress poll through HostingLive', async () => seen.some((u) => u.includes('a=HostingLive')), 15_000, 100);
    } finally {
      world.fleet.setLatency(0);
    }
    await settled();
    await noPasswords([DB_PW[0]!]);
    await page.goto(tabUrl('databases'));
    const row = page.locator('tr[data-row="shop"]');
    assert.equal(await row.count(), 1);
    assert.equal(await row.locator('.hp-databases-engine').textContent(), 'MySQL / MariaDB');
    assert.equal(await row.locator('.hp-databases-charset').textContent(), 'utf8mb4');
    assert.equal(await row.locator('.hp-databases-status').textContent(), 'active');
    assert.equal(await row.locator('.hp-databases-name small').textContent(), `${user}_shop`);
    assert.equal((await page.locator('#hp-databases-limit').textContent())?.trim(), '1 of 2 in use');
    assert.deepEqual(dbsOnNode(), [{ db: `${user}_shop`, user: `${user}_shop`, type: 'mysql', charset: 'UTF8MB4', md5: passwordHash(DB_PW[0]!) }]);
    await shot('databases');

    // A new password: on the node (its hash), in no page.
    await row.locator('form.hp-databases-password input[name="hbf_password"]').fill(DB_PW[1]!);
    await accepted(row.locator('form.hp-databases-password button').click().then(result));
    assert.equal(dbsOnNode()[0]!.md5, passwordHash(DB_PW[1]!));
    await noPasswords(DB_PW.slice(0, 2));

    // Hostile names and passwords: refused naming the field, nothing queued, nothing on the node.
    const chains = await chainCount();
    await page.goto(tabUrl('databases'));
    for (const name of HOSTILE_NAMES) {
      const r = await forge('#hp-databases-create', { hbf_name: name, hbf_password: DB_PW[2]! });
      assert.match(r, /^name: /, name.slice(0, 40));
      await inert(name.slice(0, 40));
    }
    for (const [values, re] of [
      [{ hbf_password: 'Quote"Pass1x' }, /^password: must not contain quotes/],
      [{ hbf_password: 'Line\nBreak1Ax' }, /^password: has a control or invisible character/],
      [{ hbf_password: 'x'.repeat(300) }, /^password: is 300 characters long; a database password has at most 128/],
      [{ hbf_password: DB_PW[2]!, hbf_db_user: '--flag' }, /^db_user: "--flag" is not allowed/],
      [{ hbf_password: DB_PW[2]!, hbf_type: 'pgsql' }, /^type: must be one of mysql/],
    ] as const) {
      await page.goto(tabUrl('databases'));
      assert.match(await forge('#hp-databases-create', { hbf_name: 'other', ...values }), re, JSON.stringify(values));
    }
    await page.goto(tabUrl('databases'));
    assert.match(await forge('#hp-databases-create', { hbf_name: 'other', hbf_password: DB_PW[2]!, hbf_charset: `${SCRIPT}` }), /^charset: "‹script›window.__pwned=1‹\/script›" is not a MySQL \/ MariaDB character set/);
    await inert('a charset');
    await page.goto(tabUrl('databases'));
    assert.match(await forge('form.hp-databases-delete', { hbf_database: `${user}_shop'; DROP DATABASE x; --` }), /^database: you have no database named/);
    assert.equal(await chainCount(), chains, 'nothing queued');
    assert.equal(dbsOnNode().length, 1);
    await shot('databases-refused');

    await page.goto(tabUrl('databases'));
    await accepted(page.locator('tr[data-row="shop"] form.hp-databases-delete button').click().then(result));
    await page.goto(tabUrl('databases'));
    assert.equal(await page.locator('tr[data-row="shop"]').count(), 0);
    assert.deepEqual(dbsOnNode(), []);
    await noPasswords(DB_PW);
  });

  test('FTP: an account in a folder, its password and folder changed, the plan\'s limit refused in its words, deleted', async () => {
    const account = `${user}_up`;
    await page.goto(tabUrl('ftp'));
    assert.equal((await page.locator('#hp-ftp-limit').textContent())?.trim(), '1');
    // Hostile names and folders first: refused naming the field, nothing queued.
    const chains = await chainCount();
    await page.goto(tabUrl('ftp'));
    for (const name of HOSTILE_NAMES) {
      assert.match(await forge('#hp-ftp-create', { hbf_name: name, hbf_password: FTP_PW[0]! }), /^name: /, name.slice(0, 40));
      await inert(name.slice(0, 40));
    }
    await page.goto(tabUrl('ftp'));
    for (const p of ['../../etc', '--flag', `public_html/${SCRIPT}`, 'a/'.repeat(150), `${LONG_FOLDER}z`, 'public_html/"x"']) {
      assert.match(await forge('#hp-ftp-create', { hbf_name: 'up', hbf_password: FTP_PW[0]!, hbf_path: p }), /^path: /, p.slice(0, 40));
      await inert(p.slice(0, 40));
    }
    assert.equal(await chainCount(), chains, 'nothing queued');
    assert.deepEqual(ftpOnNode(), []);

    await page.goto(tabUrl('ftp'));
    await page.fill('#hp-ftp-name', 'up');
    await page.fill('#hp-ftp-password', FTP_PW[0]!);
    await page.fill('#hp-ftp-path', 'public_html/uploads');
    await accepted(page.locator('#hp-ftp-submit').click().then(result));
    await page.goto(tabUrl('ftp'));
    const row = page.locator(`tr[data-row="${account}"]`);
    assert.equal(await row.locator('.hp-ftp-path').textContent(), `${DOMAIN}/public_html/uploads`);
    assert.deepEqual(ftpOnNode(), [{ account, path: 'public_html/uploads', md5: passwordHash(FTP_PW[0]!) }]);
    await noPasswords([FTP_PW[0]!]);

    // The plan's one account is in use: the form gives way to the plan's words, and a forged create is refused in them.
    assert.equal(await page.locator('#hp-ftp-create').count(), 0);
    const full = 'Your plan includes 1 FTP account and it is in use.';
    assert.equal((await page.locator('#hp-ftp-full').textContent())?.trim(), full);
    await shot('ftp-full');
    const before = await chainCount();
    assert.equal(await post('ftp-create', { name: 'second', password: FTP_PW[1]!, path: '' }), full);
    assert.equal(await chainCount(), before, 'nothing queued');
    assert.equal(ftpOnNode().length, 1);

    await page.goto(tabUrl('ftp'));
    await row.locator('form.hp-ftp-password input[name="hbf_password"]').fill(FTP_PW[1]!);
    await accepted(row.locator('form.hp-ftp-password button').click().then(result));
    assert.equal(ftpOnNode()[0]!.md5, passwordHash(FTP_PW[1]!));
    await noPasswords(FTP_PW);

    await page.goto(tabUrl('ftp'));
    await row.locator('form.hp-ftp-path-form input[name="hbf_path"]').fill(LONG_FOLDER);
    await accepted(row.locator('form.hp-ftp-path-form button').click().then(result));
    await page.goto(tabUrl('ftp'));
    assert.equal(await row.locator('.hp-ftp-path').textContent(), `${DOMAIN}/${LONG_FOLDER}`);
    assert.equal(ftpOnNode()[0]!.path, LONG_FOLDER);
    await fits('#hp-ftp', '#hp-ftp-list');
    assert.match(await forge(`tr[data-row="${account}"] form.hp-ftp-path-form`, { hbf_path: '../../../root' }), /^path: /);
    assert.match(await forge('form.hp-ftp-delete', { hbf_account: 'root' }), /^account: "root" is not one of your FTP accounts/);
    assert.equal(ftpOnNode()[0]!.path, LONG_FOLDER);
    await shot('ftp');

    await page.goto(tabUrl('ftp'));
    await accepted(row.locator('form.hp-ftp-delete button').click().then(result));
    await page.goto(tabUrl('ftp'));
    assert.equal(await page.locator(`tr[data-row="${account}"]`).count(), 0);
    assert.deepEqual(ftpOnNode(), []);
    assert.equal(await page.locator('#hp-ftp-create').count(), 1, 'the form is back');
    await noPasswords(FTP_PW);
  });

  test('Cron: a job added, edited to a command with shell and markup (stored as typed, shown as text, never run), suspended, deleted', async () => {
    const marker = path.join(markerDir, 'ran');
    const first = `php /home/${user}/web/${DOMAIN}/public_html/cron.php --quiet`;
    // What a shell or a page would act on, if anything did: each stays text.
    const hostile = `echo "it's" $(id) > /dev/null; touch ${marker}; rm -rf ${markerDir}/nothing --flag ${SCRIPT}<b>x</b>`;
    await page.goto(tabUrl('cron'));
    assert.equal((await page.locator('#hp-cron-limit').textContent())?.trim(), '3');
    await page.fill('#hp-cron-min', '*/5');
    await page.fill('#hp-cron-command', first);
    await accepted(page.locator('#hp-cron-submit').click().then(result));
    await page.goto(tabUrl('cron'));
    const row = page.locator('tr[data-row="1"]');
    assert.equal(await row.locator('.hp-cron-schedule').textContent(), '*/5 * * * *');
    assert.equal(await row.locator('.hp-cron-command').textContent(), first);
    assert.equal(await row.locator('.hp-cron-state').textContent(), 'Active');
    assert.deepEqual(cronOnNode(), [{ id: '1', schedule: '*/5 * * * *', command: first, suspended: 'no' }]);

    // Edited: the schedule and the command, through the row's form.
    await row.locator('details.hp-cron-edit summary').click();
    const edit = row.locator('form.hp-cron-change');
    await edit.locator('input[name="hbf_min"]').fill('15');
    await edit.locator('input[name="hbf_hour"]').fill('3');
    await edit.locator('input[name="hbf_command"]').fill(hostile);
    await accepted(edit.locator('button').click().then(result));
    await page.goto(tabUrl('cron'));
    assert.equal(await row.locator('.hp-cron-schedule').textContent(), '15 3 * * *');
    assert.equal(await row.locator('.hp-cron-command').textContent(), hostile);
    assert.equal(await row.locator('form.hp-cron-change input[name="hbf_command"]').inputValue(), hostile);
    await inert('a cron command');
    assert.deepEqual(cronOnNode(), [{ id: '1', schedule: '15 3 * * *', command: hostile, suspended: 'no' }]);
    assert.ok(crontab().split('\n').includes(`15 3 * * * ${hostile}`), crontab());
    assert.ok(!fs.existsSync(marker), 'the command ran');
    await shot('cron');

    // Refused naming the field: nothing queued, the job as it was.
    const chains = await chainCount();
    const refusals: Array<[Record<string, string>, RegExp]> = [
      [{ hbf_command: 'echo `id`' }, /^command: must not contain a backtick/],
      [{ hbf_command: 'echo one\nrm -rf /' }, /^command: must be one line, without control characters/],
      [{ hbf_command: 'echo one\r\necho two' }, /^command: must be one line/],
      [{ hbf_command: 'date +%s' }, /^command: must not contain "%"/],
      [{ hbf_command: `echo ${'x'.repeat(1000)}` }, /^command: must be at most 1000 characters/],
      [{ hbf_min: '--flag' }, /^min: the minute "--flag" is not accepted/],
      [{ hbf_hour: SCRIPT }, /^hour: /],
      [{ hbf_wday: 'a'.repeat(300) }, /^wday: the day of week must be at most 100 characters/],
    ];
    await page.goto(tabUrl('cron'));
    for (const [values, re] of refusals) {
      await page.locator('tr[data-row="1"] details.hp-cron-edit summary').click();
      assert.match(await forge('tr[data-row="1"] form.hp-cron-change', values), re, JSON.stringify(values).slice(0, 60));
      await inert(JSON.stringify(values).slice(0, 60));
    }
    await page.goto(tabUrl('cron'));
    assert.match(await forge('#hp-cron-create', { hbf_command: 'echo `reboot`' }), /^command: must not contain a backtick/);
    assert.match(await forge('form.hp-cron-delete', { hbf_id: '1; rm -rf /' }), /^id: must be the number of one of your cron jobs/);
    assert.equal(await chainCount(), chains, 'nothing queued');
    assert.deepEqual(cronOnNode(), [{ id: '1', schedule: '15 3 * * *', command: hostile, suspended: 'no' }]);
    await shot('cron-refused');

    await page.goto(tabUrl('cron'));
    await accepted(row.locator('form.hp-cron-suspend button').click().then(result));
    await page.goto(tabUrl('cron'));
    assert.equal(await row.locator('.hp-cron-state').textContent(), 'Suspended');
    assert.equal(await row.locator('form.hp-cron-unsuspend').count(), 1);
    assert.equal(cronOnNode()[0]!.suspended, 'yes');

    await accepted(row.locator('form.hp-cron-delete button').click().then(result));
    await page.goto(tabUrl('cron'));
    assert.equal(await page.locator('tr[data-row="1"]').count(), 0);
    assert.deepEqual(cronOnNode(), []);
    // A long command (allowed) is kept whole and stays inside the panel.
    await page.fill('#hp-cron-command', LONG_COMMAND);
    await accepted(page.locator('#hp-cron-submit').click().then(result));
    await page.goto(tabUrl('cron'));
    const long = page.locator(`tr[data-row="${cronOnNode()[0]!.id}"]`);
    assert.equal(await long.locator('.hp-cron-command').textContent(), LONG_COMMAND);
    assert.equal(cronOnNode()[0]!.command, LONG_COMMAND);
    await fits('#hp-cron', '#hp-cron-list');
    await shot('cron-long');
    await accepted(long.locator('form.hp-cron-delete button').click().then(result));
    assert.deepEqual(cronOnNode(), []);
    assert.ok(!crontab().includes(marker));
    assert.ok(!fs.existsSync(marker), 'the command ran');
  });

  test('Web settings: the PHP and proxy templates among the node\'s, an alias added and removed; look-alikes refused', async () => {
    await page.goto(tabUrl('web'));
    assert.equal(await page.locator('#hp-web-backend-now').textContent(), 'default');
    assert.deepEqual(await page.locator('#hp-web-backend-template option').allTextContents(), ['default', 'no-php', 'PHP-8_2', 'PHP-8_3']);
    await page.selectOption('#hp-web-backend-template', 'PHP-8_3');
    await accepted(page.locator('#hp-web-backend button').click().then(result));
    await page.goto(tabUrl('web'));
    assert.equal(await page.locator('#hp-web-backend-now').textContent(), 'PHP-8_3');
    assert.equal(webDomain().BACKEND, 'PHP-8_3');
    await page.selectOption('#hp-web-proxy-template', 'caching');
    await accepted(page.locator('#hp-web-proxy button').click().then(result));
    await page.goto(tabUrl('web'));
    assert.equal(await page.locator('#hp-web-proxy-now').textContent(), 'caching');
    assert.equal(webDomain().PROXY, 'caching');

    const aliasesBefore = webDomain().ALIAS;
    await page.fill('#hp-web-new-alias', 'shop');
    await accepted(page.locator('#hp-web-alias-add button').click().then(result));
    await page.goto(tabUrl('web'));
    assert.equal(await page.locator(`tr[data-row="shop.${DOMAIN}"] .hp-web-alias`).textContent(), `shop.${DOMAIN}`);
    assert.ok(webDomain().ALIAS.split(',').includes(`shop.${DOMAIN}`), webDomain().ALIAS);
    await shot('web');

    // Refused naming the field: nothing queued, the node as it was.
    const chains = await chainCount();
    const onNode = webDomain();
    const refusals: Array<[string, RegExp]> = [
      [`ѕhop.${DOMAIN}`, /^alias: .*is not a host name/], // a Cyrillic "ѕ"
      [DOMAIN.replace('a', 'а'), /^alias: .*is not under/], // the domain itself, with a Cyrillic "а"
      ['shop.victim.example', /^alias: "shop\.victim\.example" is not under/],
      [SCRIPT, /^alias: "‹script›window\.__pwned=1‹\/script›" is not under/],
      ['"quoted\'', /^alias: .*is not a host name/],
      ['--flag', /^alias: "--flag\..*is not a host name/],
      ['a'.repeat(300), /^alias: is \d+ characters long; a host name has at most 253/],
      ['*', /^alias: wildcard aliases are not offered/],
      ['webmail', /^alias: .*mail server's name/],
    ];
    await page.goto(tabUrl('web'));
    for (const [alias, re] of refusals) {
      assert.match(await forge('#hp-web-alias-add', { hbf_alias: alias }), re, alias.slice(0, 40));
      await inert(alias.slice(0, 40));
    }
    await page.goto(tabUrl('web'));
    assert.match(await forge('#hp-web-backend', { hbf_template: '../../../etc/passwd' }), /^template: "\.\.\/\.\.\/\.\.\/etc\/passwd" is not offered by your server: choose one of/);
    assert.match(await forge('#hp-web-proxy', { hbf_template: `--flag ${SCRIPT}` }), /^template: .*is not offered by your server/);
    await inert('a template');
    assert.equal(await chainCount(), chains, 'nothing queued');
    assert.deepEqual(webDomain(), onNode);
    await shot('web-refused');

    await page.goto(tabUrl('web'));
    await accepted(page.locator(`tr[data-row="shop.${DOMAIN}"] form.hp-web-alias-delete button`).click().then(result));
    await page.goto(tabUrl('web'));
    assert.equal(await page.locator(`tr[data-row="shop.${DOMAIN}"]`).count(), 0);
    assert.equal(webDomain().ALIAS, aliasesBefore);
  });

  test('Backups: web and mail backed up now (the progress seen), the databases restored after one is deleted, the backup deleted', async () => {
    // A database to back up, made through the Databases tab.
    await page.goto(tabUrl('databases'));
    await page.fill('#hp-databases-new-name', 'keep');
    await page.fill('#hp-databases-new-password', DB_PW[2]!);
    await accepted(page.locator('#hp-databases-submit').click().then(result));
    assert.deepEqual(dbsOnNode().map((d) => d.db), [`${user}_keep`]);

    await page.goto(tabUrl('backups'));
    assert.deepEqual(await page.locator('.hp-backups-limit').allTextContents(), ['0 of 1 kept', '0 of 1 kept']);
    world.fleet.setLatency(400);
    try {
      await page.click('#hp-backups-create-both button');
      assert.equal(await result(), OK);
      assert.equal(await page.getAttribute('.hp-panel', 'data-busy'), '1', 'the backup still runs when the page comes back');
      assert.match((await page.locator('#hb-progress').textContent()) ?? '', /a backup being made/);
      assert.equal(await page.locator('#hb-progress').count(), 1);
      assert.equal(await page.locator('fieldset.hp-forms').getAttribute('disabled'), '');
      await shot('backups-progress');
    } finally {
      world.fleet.setLatency(0);
    }
    await settled();
    const [w, m] = [archives(web, user), archives(mail, mailUser)];
    assert.equal(w.length, 1);
    assert.equal(m.length, 1);
    await page.goto(tabUrl('backups'));
    const row = page.locator(`#hp-backups-web tr[data-row="${w[0]}"]`);
    assert.equal(await row.count(), 1);
    assert.equal(await row.locator('.hp-backups-db').textContent(), `${user}_keep`);
    assert.equal(await page.locator(`#hp-backups-mail tr[data-row="${m[0]}"]`).count(), 1);
    assert.equal((await page.locator('#hp-backups-web .hp-backups-full').textContent())?.trim(), 'Your plan keeps 1 backup of web hosting and it is in use: delete one to make a new one now.');
    await shot('backups');

    // Forged archives, parts and items: refused naming the field, nothing queued.
    const chains = await chainCount();
    for (const [values, re] of [
      [{ hbf_archive: '../../etc/shadow' }, /^archive: you have no backup "\.\.\/\.\.\/etc\/shadow" of web hosting/],
      [{ hbf_archive: SCRIPT }, /^archive: you have no backup/],
      [{ hbf_part: 'cron' }, /^part: must be one of all/],
      [{ hbf_part: 'db', hbf_item: `--flag ${SCRIPT}` }, /^item: .*is not in this backup's databases/],
      [{ hbf_account: 'dns' }, /^account: must be one of web \(Web hosting\), mail \(Mail\)/],
    ] as const) {
      await page.goto(tabUrl('backups'));
      assert.match(await forge(`#hp-backups-web tr[data-row="${w[0]}"] form.hp-backups-restore`, values), re, JSON.stringify(values));
      await inert(JSON.stringify(values));
    }
    assert.equal(await chainCount(), chains, 'nothing queued');

    // The database deleted, then the backup's databases restored: it is back on the node.
    await page.goto(tabUrl('databases'));
    await accepted(page.locator('tr[data-row="keep"] form.hp-databases-delete button').click().then(result));
    assert.deepEqual(dbsOnNode(), []);
    await page.goto(tabUrl('backups'));
    await row.locator('select[name="hbf_part"]').selectOption('db');
    await row.locator('select[name="hbf_item"]').selectOption(`${user}_keep`);
    await accepted(row.locator('form.hp-backups-restore button').click().then(result));
    assert.deepEqual(dbsOnNode().map((d) => d.db), [`${user}_keep`]);
    await page.goto(tabUrl('databases'));
    assert.equal(await page.locator('tr[data-row="keep"]').count(), 1);

    await page.goto(tabUrl('backups'));
    await accepted(row.locator('form.hp-backups-delete button').click().then(result));
    await page.goto(tabUrl('backups'));
    assert.equal(await page.locator(`#hp-backups-web tr[data-row="${w[0]}"]`).count(), 0);
    assert.deepEqual(archives(web, user), []);
    assert.deepEqual(archives(mail, mailUser), m, 'the mail backup is kept');
    assert.equal(await page.locator('#hp-backups-web form.hp-backups-create').count(), 1, 'a new backup can be made');
    await noPasswords([...DB_PW, ...FTP_PW]);
  });

  test('the browser only talked to WHMCS; no dialog ever opened', () => {
    const daemonHost = new URL(world.daemon.url).host;
    assert.ok(!seen.some((u) => u.includes(daemonHost)), 'the browser reached the daemon');
    assert.deepEqual(dialogs, []);
  });
});
