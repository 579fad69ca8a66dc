// The hosting panel's Cron jobs tab (services/hosting-panel/cron.ts) on an emulated web node,
// through the engine: a Split service with a hosting plan of 2 cron jobs is deployed through the
// signed API; prepare() refuses each bad field by name, the plan's limit with its message, a job
// that is not there, and queues nothing; each action's chain (sealed command, as the dispatcher
// queues it) lands on the web node under the web user — create, change, suspend, resume, delete —
// and the crontab follows. A retried create finds its own job (no second one); a job that took its
// id meanwhile fails the step and is left alone. The command (it may hold a token) is in no task
// argument, task log or Operation Log entry.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Daemon } from '../../daemon/runtime.ts';
import { T } from '../../daemon/common/tables.ts';
import { InputError } from '../../daemon/common/errors.ts';
import { inTx } from '../../daemon/db/connect.ts';
import { enqueueChainIn } from '../../daemon/engine/chains.ts';
import { serviceByWhmcsId } from '../../daemon/services/store.ts';
import { cronActions, cronTab } from '../../daemon/services/hosting-panel/cron.ts';
import { sealSecrets } from '../../daemon/services/hosting-panel/secrets.ts';
import { HOSTING_ACTIONS, HOSTING_TABS } from '../../daemon/services/hosting-panel/tabs.ts';
import type { HostingContext, PreparedAction } from '../../daemon/services/hosting-panel/types.ts';
import { clientActor, runHostingAction, type HostingDispatchDeps } from '../../daemon/services/hosting-panel/dispatch.ts';
import { renderHostingPanel } from '../../daemon/pages/hosting-panel/panel.ts';
import { DIALECTS, waitFor, type TestDb } from '../helpers/db.ts';
import { commandsSince, type EmulatedNode } from '../helpers/fleet.ts';
import { panelHelpers, startPanelWorld, type PanelWorld } from '../helpers/hosting-panel.ts';
import { paths, runHestia } from '../emulator/hestia/index.ts';

const WHMCS_ID = 8811;
const DOMAIN = 'cron8811.example';
/** A command with a token in it: it must reach the node and nothing else. */
const TOKEN = 'tok-9f2c7e11aa03';
const COMMAND = `curl -fsS 'https://${DOMAIN}/cron.php?key=${TOKEN}' -o /dev/null`;
const CHANGED = `php /home/x/public_html/artisan schedule:run --token=${TOKEN}x`;
const EVERY = { min: '*/5', hour: '*', day: '*', month: '*', wday: '*' };

for (const dialect of DIALECTS) {
  describe(`the Cron jobs tab on an emulated web node (${dialect})`, () => {
    let world: PanelWorld;
    let tdb: TestDb;
    let daemon: Daemon;
    let web: EmulatedNode;
    let mail: EmulatedNode;
    let user: string;
    let ctx: HostingContext;

    const { chainCount, chainEnds } = panelHelpers(() => world, WHMCS_ID, 7);
    const jobsOnNode = (node = web) => {
      const r = runHestia(node.dir, 'v-list-cron-jobs', [user, 'json']);
      if (r.code !== 0) return null;
      return Object.values(JSON.parse(r.stdout) as Record<string, Record<string, string>>);
    };
    /** The cron commands that change something, sent to the web node so far (the health checks and usage syncs send others). */
    const cronWrites = () => commandsSince(web, 0).filter((c) => /cron-job/.test(c.command) && !c.command.includes('v-list-')).length;
    const crontab = () => fs.readFileSync(paths.crontab(web.dir, user), 'utf8');
    const fresh = async () => {
      const svc = await serviceByWhmcsId(tdb.db, WHMCS_ID);
      ctx = { ...ctx, svc: svc as HostingContext['svc'] };
    };
    /** Queues a prepared action as the dispatcher does (one chain, its secrets sealed in the same transaction) and waits for its end. */
    const run = async (p: PreparedAction) => {
      const chainId = await inTx(tdb.db, async (trx) => {
        const r = await enqueueChainIn(trx, { serviceId: ctx.svc.id, operation: p.operation, steps: p.steps });
        await sealSecrets(trx, daemon.core.config.masterKey, r.chainId, p.secrets ?? []);
        return r.chainId;
      });
      daemon.engine.wake();
      return chainEnds(chainId);
    };
    const refused = async (action: string, fields: Record<string, string>, field: string, message: RegExp) => {
      const chains = await chainCount();
      const writes = cronWrites();
      await assert.rejects(cronActions[action]!.prepare(ctx, fields), (err: unknown) => {
        assert.ok(err instanceof InputError, String(err));
        assert.equal(err.field, field, err.message);
        assert.match(err.message, message);
        assert.ok(!err.message.includes(TOKEN), 'the command is not quoted back');
        return true;
      });
      assert.equal(await chainCount(), chains, 'nothing was queued');
      assert.equal(cronWrites(), writes, 'no cron command but listings reached the node');
    };

    before(async () => {
      // The scheduler keeps its own pace here: cronWrites() counts only cron commands that change something.
      world = await startPanelWorld(dialect, 'hb-hp-cron-', { web: 1, mail: 1, dns: 0, combo: 0, pdns: false }, WHMCS_ID, {
        service: { domain: DOMAIN }, hostingPlan: { name: 'cron-two', web: { cron_jobs: 2 } }, configOptions: { configoption16: 'cron-two' }, quiet: false,
      });
      ({ tdb, daemon } = world);
      const { svc } = world;
      user = svc.plan!.names.users.web!;
      web = world.fleet.node(world.reg.names[svc.plan!.placement.web!]!);
      mail = world.fleet.node(world.reg.names[svc.plan!.placement.mail!]!);
      ctx = {
        db: tdb.db, svc: svc as HostingContext['svc'], now: Date.now(),
        hestia: async (id) => (await world.access.hestia(id, { log: () => {} })).driver,
      };
    });
    after(async () => {
      await world?.close();
    });

    test('the tab and its actions are listed, for the web role', () => {
      assert.equal(HOSTING_TABS.find((t) => t.key === 'cron'), cronTab);
      assert.equal(cronTab.role, 'web');
      for (const name of ['cron-create', 'cron-change', 'cron-delete', 'cron-suspend', 'cron-unsuspend']) {
        assert.equal(HOSTING_ACTIONS[name], cronActions[name], name);
        assert.equal(cronActions[name]!.role, 'web');
      }
    });

    test('bad fields are refused before anything is queued, each naming its field', async () => {
      const ok = { ...EVERY, command: 'php -v' };
      await refused('cron-create', { ...ok, min: '60' }, 'min', /minute "60" is not accepted: numbers are 0-59/);
      await refused('cron-create', { ...ok, min: '*/60' }, 'min', /a step is 1-58/);
      await refused('cron-create', { ...ok, hour: '24' }, 'hour', /numbers are 0-23/);
      await refused('cron-create', { ...ok, day: '0' }, 'day', /numbers are 1-31/);
      await refused('cron-create', { ...ok, month: 'jan' }, 'month', /numbers only/);
      await refused('cron-create', { ...ok, wday: '8' }, 'wday', /numbers are 0-7/);
      await refused('cron-create', { ...ok, hour: '5-1' }, 'hour', /runs backwards/);
      await refused('cron-create', { ...ok, day: '' }, 'day', /day of month is required/);
      await refused('cron-create', { ...ok, wday: '1; rm -rf /' }, 'wday', /not accepted/);
      await refused('cron-create', { ...ok, command: '' }, 'command', /is required/);
      await refused('cron-create', { ...ok, command: `echo \`id\` ${TOKEN}` }, 'command', /backtick/);
      await refused('cron-create', { ...ok, command: `echo a\nrm -rf / ${TOKEN}` }, 'command', /one line/);
      await refused('cron-create', { ...ok, command: `echo a\\b ${TOKEN}` }, 'command', /backslash/);
      await refused('cron-create', { ...ok, command: `date +%s ${TOKEN}` }, 'command', /"%"/);
      await refused('cron-create', { ...ok, command: 'x'.repeat(1001) }, 'command', /at most 1000 characters/);
      await refused('cron-change', { ...ok, id: 'abc' }, 'id', /number of one of your cron jobs/);
      await refused('cron-change', { ...ok, id: '77' }, 'id', /there is no cron job 77/);
      await refused('cron-delete', { id: '77' }, 'id', /there is no cron job 77/);
      await refused('cron-suspend', { id: '-1' }, 'id', /number of one of your cron jobs/);
      assert.deepEqual(jobsOnNode(), []);
    });

    test('create, change, suspend, resume and delete land on the web node under the web user; the command stays out of args, logs and the Operation Log', async () => {
      const created = await cronActions['cron-create']!.prepare(ctx, { ...EVERY, command: ` ${COMMAND} ` });
      assert.equal(created.message, 'Adding cron job 1 (*/5 * * * *)');
      assert.deepEqual(created.steps.map((s) => [s.type, s.target, s.args]), [['cron.add', `server:${ctx.svc.plan.placement.web}`, { server: ctx.svc.plan.placement.web, user, job: 1, ...EVERY, secret: 'command' }]]);
      assert.equal(await run(created), 'succeeded');
      let jobs = jobsOnNode()!;
      assert.equal(jobs.length, 1);
      assert.deepEqual({ JOB: jobs[0]!.JOB, MIN: jobs[0]!.MIN, CMD: jobs[0]!.CMD, SUSPENDED: jobs[0]!.SUSPENDED }, { JOB: '1', MIN: '*/5', CMD: COMMAND, SUSPENDED: 'no' });
      assert.match(crontab(), new RegExp(`^\\*/5 \\* \\* \\* \\* curl -fsS 'https://${DOMAIN.replace(/\./g, '\\.')}/cron`, 'm'));
      assert.equal(jobsOnNode(mail), null, 'the mail node has no such user: nothing went there');

      // The tab shows it (the page escapes it: the view model holds the customer's own text).
      const view = await cronTab.load(ctx) as { jobs: Array<Record<string, unknown>>; used: number; limit: number; full: boolean };
      assert.deepEqual(view.jobs.map((j) => [j.id, j.schedule, j.command, j.suspended]), [[1, '*/5 * * * *', COMMAND, false]]);
      assert.deepEqual([view.used, view.limit, view.full], [1, 2, false]);

      const changed = await cronActions['cron-change']!.prepare(ctx, { id: '1', min: '0', hour: '3', day: '1-15', month: '*', wday: '1,3,5', command: CHANGED });
      assert.equal(await run(changed), 'succeeded');
      jobs = jobsOnNode()!;
      assert.deepEqual([jobs.length, jobs[0]!.MIN, jobs[0]!.HOUR, jobs[0]!.DAY, jobs[0]!.WDAY, jobs[0]!.CMD], [1, '0', '3', '1-15', '1,3,5', CHANGED]);

      assert.equal(await run(await cronActions['cron-suspend']!.prepare(ctx, { id: '1' })), 'succeeded');
      assert.equal(jobsOnNode()![0]!.SUSPENDED, 'yes');
      assert.ok(!crontab().includes('artisan'), 'a suspended job is out of the crontab');
      await refused('cron-suspend', { id: '1' }, 'id', /already suspended/);
      await refused('cron-change', { id: '1', ...EVERY, command: 'php -v' }, 'id', /suspended: unsuspend it before editing it/);
      assert.equal(await run(await cronActions['cron-unsuspend']!.prepare(ctx, { id: '1' })), 'succeeded');
      assert.equal(jobsOnNode()![0]!.SUSPENDED, 'no');
      assert.match(crontab(), /artisan schedule:run/);

      assert.equal(await run(await cronActions['cron-delete']!.prepare(ctx, { id: '1' })), 'succeeded');
      assert.deepEqual(jobsOnNode(), []);
      assert.ok(!crontab().includes('artisan'));

      // The token: on the node, and nowhere in the daemon's tables but the sealed secrets (gone once the chains ended, or sealed).
      const dump = JSON.stringify([
        await tdb.db(T.tasks).where('service_id', ctx.svc.id).select(),
        await tdb.db(T.attempts).select(),
        await tdb.db(T.oplog).select(),
        await tdb.db(T.chains).where('service_id', ctx.svc.id).select(),
      ]);
      assert.ok(dump.includes('cron.add') && dump.includes('cron.delete'), 'the tasks are there');
      assert.ok(/v-add-cron-job' '[^']+' '\*\/5' '\*' '\*' '\*' '\*' \*{8} '1'/.test(dump), 'the task log has the command line, the command masked');
      assert.ok(cronWrites() >= 5, 'the writes were counted');
      assert.ok(!dump.includes(TOKEN), 'the command\'s token is in no task argument, task log or Operation Log entry');
      for (const row of await tdb.db(T.panelSecrets).select('sealed')) assert.ok(!String(row.sealed).includes(TOKEN));
    });

    test('a retried create finds its own job; a job that took the id meanwhile fails the step and is left alone', async () => {
      const p = await cronActions['cron-create']!.prepare(ctx, { ...EVERY, command: COMMAND });
      const job = (p.steps[0]!.args as { job: number }).job;
      assert.equal(await run(p), 'succeeded');
      // The same step again (a retry after a crash once HestiaCP had taken it): no second job.
      assert.equal(await run(p), 'succeeded');
      assert.deepEqual(jobsOnNode()!.map((j) => [j.JOB, j.CMD]), [[String(job), COMMAND]]);
      // Another command under the same id: refused by the step, the job kept as it is.
      const other = { ...p, secrets: [{ name: 'command', value: 'php -v' }] };
      assert.match(await run(other), new RegExp(`^failed: .*cron job ${job} of ${user} on .* was added by something else meanwhile`));
      assert.deepEqual(jobsOnNode()!.map((j) => [j.JOB, j.CMD]), [[String(job), COMMAND]]);
      assert.equal(await run(await cronActions['cron-delete']!.prepare(ctx, { id: String(job) })), 'succeeded');
    });

    test('the plan\'s limit is refused with its message before anything is queued', async () => {
      await fresh();
      for (const command of ['php -v', 'php -m']) {
        assert.equal(await run(await cronActions['cron-create']!.prepare(ctx, { ...EVERY, command })), 'succeeded');
      }
      await refused('cron-create', { ...EVERY, command: 'php -i' }, '', /^Your plan includes 2 cron jobs and all 2 are in use\.$/);
      const view = await cronTab.load(ctx) as { full: boolean; refusal: string };
      assert.deepEqual([view.full, view.refusal], [true, 'Your plan includes 2 cron jobs and all 2 are in use.']);
      // A suspended job still counts (HestiaCP counts it too).
      const first = jobsOnNode()![0]!.JOB!;
      assert.equal(await run(await cronActions['cron-suspend']!.prepare(ctx, { id: first })), 'succeeded');
      await refused('cron-create', { ...EVERY, command: 'php -i' }, '', /all 2 are in use/);
      assert.equal(jobsOnNode()!.length, 2);
      // Deleting one makes room again.
      assert.equal(await run(await cronActions['cron-delete']!.prepare(ctx, { id: first })), 'succeeded');
      const again = await cronActions['cron-create']!.prepare(ctx, { ...EVERY, command: 'php -i' });
      assert.equal(await run(again), 'succeeded');
      assert.equal(jobsOnNode()!.length, 2);
    });

    test('through the dispatcher: queued with its message in the Operation Log (no command); refused while suspended, accepted again once active; the page keeps a hostile command inert', async () => {
      const deps: HostingDispatchDeps = { queue: daemon.core.queue, masterKey: daemon.core.config.masterKey, hestia: ctx.hestia };
      const ends = async (chainId: number) => (await waitFor(`chain ${chainId}`, async () => {
        const row = await tdb.db(T.chains).where('id', chainId).first('state');
        return row && !['running', 'waiting'].includes(row.state) ? row : null;
      }, 30_000)).state;
      const hostile = `echo "<script>alert('${TOKEN}')</script>" --flag > /dev/null`;
      for (const j of jobsOnNode()!) assert.equal(await ends((await runHostingAction(deps, WHMCS_ID, 'cron-delete', { id: j.JOB! }, clientActor(7), 7)).chainId), 'succeeded');
      const r = await runHostingAction(deps, WHMCS_ID, 'cron-create', { ...EVERY, hour: '2', command: hostile }, clientActor(7), 7);
      assert.match(r.message, /^Adding cron job \d+ \(\*\/5 2 \* \* \*\)$/);
      assert.equal(await ends(r.chainId), 'succeeded');
      assert.deepEqual(jobsOnNode()!.map((j) => j.CMD), [hostile]);
      const html = (await renderHostingPanel({ db: tdb.db, hestia: ctx.hestia }, WHMCS_ID, { client_id: 7, tab: 'cron', token: 'abc123' })).html;
      assert.match(html, /id="hp-cron-list"/);
      assert.ok(!html.includes('<script>alert'), 'the command is not markup');
      assert.ok(html.includes('&lt;script&gt;alert('), 'the command is shown as text');
      assert.match(html, /name="hb_action" value="cron-delete"/);

      await tdb.db(T.services).where('id', ctx.svc.id).update({ state: 'suspended' });
      try {
        const chains = await chainCount();
        const job = jobsOnNode()![0]!.JOB!;
        for (const [action, fields] of [['cron-create', { ...EVERY, command: 'php -v' }], ['cron-change', { id: job, ...EVERY, command: 'php -v' }], ['cron-delete', { id: job }], ['cron-suspend', { id: job }], ['cron-unsuspend', { id: job }]] as const) {
          await assert.rejects(runHostingAction(deps, WHMCS_ID, action, { ...fields }, clientActor(7), 7), /while suspended, client-area write actions are blocked/, action);
        }
        assert.equal(await chainCount(), chains, 'nothing was queued');
      } finally {
        await tdb.db(T.services).where('id', ctx.svc.id).update({ state: 'active' });
      }
      const del = await runHostingAction(deps, WHMCS_ID, 'cron-delete', { id: jobsOnNode()![0]!.JOB! }, clientActor(7), 7);
      assert.equal(await ends(del.chainId), 'succeeded');
      assert.deepEqual(jobsOnNode(), []);
      const oplog = JSON.stringify(await tdb.db(T.oplog).select());
      assert.match(oplog, /cron-create: Adding cron job \d+/);
      assert.match(oplog, /refused: Your service is suspended/);
      assert.ok(!oplog.includes(TOKEN), 'no command in the Operation Log');
    });
  });
}
