// TerminateAccount and Force terminate arriving while the service's deployment is still running
// (the nodes are slowed down so the deployment is caught half way). Terminate queues behind the
// deployment (one chain per service) and then removes everything it made; Force terminate cancels
// the deployment's remaining steps, closes the service in hostbridge without touching the nodes,
// and its task log names every account the half-done deployment may have left (docs/fleet.md).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dbNow } from '../../daemon/db/connect.ts';
import { dependenciesOf } from '../../daemon/engine/graph.ts';
import { waitFor } from '../helpers/db.ts';
import { chainsOf, fleetHoldings, serviceRow, tasksOfChain } from '../helpers/service-chains.ts';
import { ok, startE2E, type E2E, type Order } from './whmcs.ts';

/** Per SSH command and PowerDNS call while a deployment is to be caught running: a split deploy then takes seconds. */
const SLOW_MS = 400;

describe('terminate and force-terminate while the deployment is still running', () => {
  let e: E2E;
  before(async () => { e = await startE2E({ dialect: 'mysql' }); });
  after(async () => { await e?.close(); });

  const names = async (o: Order) => JSON.parse((await serviceRow(e.db, o.serviceId))!.names!) as { users: Record<string, string>; packages: Record<string, string> };
  const dump = async (o: Order) => JSON.stringify(await e.tasks(o.serviceId), null, 1).slice(0, 6000);

  /** Orders the service on a slow fleet and returns once its web user exists on its node while later steps are still to run. */
  const orderAndCatchMidway = async (o: Order) => {
    e.fleet.setLatency(SLOW_MS);
    ok(await e.module('CreateAccount', o), `CreateAccount ${o.serviceId}`);
    const [deploy] = await chainsOf(e.db, o.serviceId);
    assert.equal(deploy!.operation, 'deploy');
    await waitFor('the deployment to have created its web user', async () => {
      const tasks = await tasksOfChain(e.db, deploy!.id);
      return tasks.find((t) => t.step === 'web.user')?.status === 'succeeded';
    }, 60_000);
    const tasks = await tasksOfChain(e.db, deploy!.id);
    assert.ok(tasks.filter((t) => t.status !== 'succeeded').length >= 4, `the deployment should still have steps to run: ${JSON.stringify(tasks)}`);
    return deploy!.id;
  };

  test('Terminate waits for the running deployment, then removes everything it made from every node and PowerDNS', async () => {
    const o: Order = { serviceId: 6101, mode: 'split', domain: 'midway-term.example.com' };
    const deployId = await orderAndCatchMidway(o);
    const calledAt = await dbNow(e.db);
    ok(await e.module('TerminateAccount', o), 'TerminateAccount during the deployment');
    e.fleet.setLatency(0);
    const svc = await e.waitState(o.serviceId, ['terminated', 'terminate-failed', 'failed'], 90_000);
    assert.equal(svc.state, 'terminated', await dump(o));

    const chains = await chainsOf(e.db, o.serviceId);
    assert.deepEqual(chains.map((c) => [c.operation, c.state]), [['deploy', 'succeeded'], ['terminate', 'succeeded']], await dump(o));
    const [deploy, terminate] = chains as [typeof chains[0], typeof chains[0]];
    assert.equal(deploy.id, deployId);
    // Queued while the deployment ran, started only once it had finished: never two chains at once.
    assert.ok(deploy.finished_at! > calledAt, `the deployment finished (${deploy.finished_at}) before the terminate was called (${calledAt}): nothing was caught midway`);
    assert.ok(terminate.created_at < deploy.finished_at!, 'the terminate chain was queued while the deployment ran');
    assert.ok(terminate.started_at! >= deploy.finished_at!, `the terminate started (${terminate.started_at}) before the deployment finished (${deploy.finished_at})`);
    assert.deepEqual((await tasksOfChain(e.db, deploy.id)).filter((t) => t.status !== 'succeeded'), [], 'every deployment step ran');

    // Nothing of the service is left anywhere.
    assert.deepEqual(fleetHoldings(e.fleet, await names(o), o.domain), []);
    assert.equal(await e.fleet.pdns!.zone(o.domain), null, 'PowerDNS zone left behind');
    const row = await serviceRow(e.db, o.serviceId);
    assert.equal(Number((await e.db('mod_hostbridge_service_servers').where('service_id', row!.id).count({ n: '*' }))[0]!.n), 0, 'holdings left');
  });

  test('Force terminate cancels the rest of the deployment, closes the service, and names what the deployment left on the nodes', async () => {
    const o: Order = { serviceId: 6102, mode: 'split', domain: 'midway-force.example.com' };
    const deployId = await orderAndCatchMidway(o);
    const calledAt = await dbNow(e.db);
    ok(await e.module('ForceTerminate', o), 'ForceTerminate during the deployment');
    const svc = await e.waitState(o.serviceId, ['terminated', 'failed'], 60_000);
    assert.equal(svc.state, 'terminated', await dump(o));
    // The step that was running when the deployment was cancelled finishes its command on its node
    // (its result is discarded); what it did is what the nodes hold now.
    await waitFor('the cancelled step\'s worker to finish', async () => e.daemon.core.engine!.inFlight === 0, 30_000);
    e.fleet.setLatency(0);

    const chains = await chainsOf(e.db, o.serviceId);
    assert.deepEqual(chains.map((c) => [c.operation, c.state]), [['deploy', 'cancelled'], ['force-terminate', 'succeeded']], await dump(o));
    assert.equal(chains[0]!.id, deployId);
    const steps = await tasksOfChain(e.db, deployId);
    const done = steps.filter((t) => t.status === 'succeeded');
    const cancelled = steps.filter((t) => t.status === 'cancelled');
    assert.equal(done.length + cancelled.length, steps.length, `every deployment step either ran before the force-terminate or was cancelled: ${JSON.stringify(steps)}`);
    assert.ok(cancelled.length >= 4, `the deployment's remaining steps are cancelled: ${JSON.stringify(steps)}`);
    // The deployment was cancelled just before the force-terminate chain was queued, in the same call.
    const forcedAt = chains[1]!.created_at;
    assert.ok(forcedAt >= calledAt);
    for (const t of done) assert.ok(t.finished_at! <= forcedAt, `step ${t.step} succeeded after the force-terminate (${t.finished_at} > ${forcedAt})`);
    assert.ok(steps.some((t) => t.step === 'web.user' && t.status === 'succeeded'));
    // Steps keep their graph's order: a step that ran had every step it depends on done before it,
    // and nothing that depends on a cancelled step ran.
    const graph = await e.db('mod_hostbridge_tasks').where('chain_id', deployId).orderBy('step_no').select('step_no', 'step', 'status', 'depends_on', 'started_at', 'finished_at');
    for (const t of graph.filter((x) => x.status === 'succeeded')) {
      for (const d of dependenciesOf(t)) {
        assert.equal(graph[d].status, 'succeeded', `${t.step} ran although step ${d + 1} (${graph[d].step}) did not: ${JSON.stringify(graph)}`);
        assert.ok(Number(t.started_at) >= Number(graph[d].finished_at), `${t.step} started before ${graph[d].step} ended`);
      }
    }

    // The force-terminate removed what it could; whatever the nodes still hold of the service (a
    // cancelled step's command may finish after a removal) is named by the close step's log on its node.
    const n = await names(o);
    const left = fleetHoldings(e.fleet, n, o.domain);
    const close = await e.db('mod_hostbridge_tasks').where({ chain_id: chains[1]!.id, type: 'service.close' }).first('id');
    const log = String((await e.db('mod_hostbridge_task_attempts').where('task_id', close.id).first('output')).output);
    for (const l of left.filter((x) => x.includes(': user '))) {
      const [node, , user] = l.split(/:? /);
      assert.ok(log.includes(`left on ${node}: `) && log.includes(user!), `the close log does not name ${user} on ${node}:\n${log}`);
    }
    const row = await serviceRow(e.db, o.serviceId);
    assert.equal(Number((await e.db('mod_hostbridge_service_servers').where('service_id', row!.id).count({ n: '*' }))[0]!.n), 0, 'holdings left');
    // Nothing of the deployment runs later: no task of the service is open.
    assert.deepEqual(await e.db('mod_hostbridge_tasks').where('service_id', row!.id).whereIn('status', ['queued', 'running', 'waiting']).pluck('step'), []);
  });
});
