// How a chain's parallel steps read, without a daemon: the progress model groups steps into lanes
// titled by their servers and names every running step; a one-lane chain renders as the numbered
// list it always was; the admin timeline's bars share one axis, so steps that ran together overlap;
// steps are numbered from 1 everywhere (the WHMCS admin tab included).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { happeningNow, type ServiceView, type StepView } from '../../daemon/services/reads.ts';
import { progressOf } from '../../daemon/pages/progress.ts';
import { timelineOf } from '../../daemon/pages/timeline.ts';
import { render } from '../../daemon/pages/render.ts';
import { renderServiceFragment } from '../../daemon/pages/whmcs.ts';

const T0 = 1_790_000_000_000;

function step(no: number, lane: number, after: number[], label: string, server: string | null, status: string, started: number | null = null, finished: number | null = null): StepView {
  return { no, after, lane, step: label, label: server ? `${label} on ${server}` : label, server, status, attempts: started === null ? 0 : 1, started_at: started, finished_at: finished, error: null };
}

function view(steps: StepView[]): ServiceView {
  return {
    whmcs_service_id: 1, mode: 'split', state: 'deploying', domain: 'shop.example.com', username: 'shop', product_id: 1, client_id: 1, created_at: T0, updated_at: T0,
    accounts: [], recent: [],
    progress: {
      chain_id: 9, operation: 'deploy', state: 'running', done: steps.filter((s) => s.status === 'succeeded').length, total: steps.length,
      current: happeningNow(steps), error: null, steps,
    },
  };
}

// A Split deployment half-way: web and mail run side by side, the zones wait for the mail domain.
const SPLIT = [
  step(1, 0, [], 'Creating package', 'web-1', 'succeeded', T0, T0 + 1000),
  step(2, 0, [1], 'Setting up account', 'web-1', 'running', T0 + 1000),
  step(3, 1, [], 'Creating package', 'mail-1', 'succeeded', T0 + 200, T0 + 900),
  step(4, 1, [3], 'Adding mail domain with DKIM', 'mail-1', 'running', T0 + 900),
  step(5, 2, [4], 'Publishing the zone', 'ns1', 'waiting'),
  step(6, 3, [4], 'Publishing the zone', 'ns2', 'waiting'),
];

describe('parallel steps on the pages', () => {
  test('the progress model draws a lane per server, numbered from 1, and names where lanes join', () => {
    const p = progressOf(view(SPLIT));
    assert.equal(p.parallel, true);
    assert.deepEqual(p.lanes.map((l) => [l.title, l.steps.map((s) => s.no)]), [['web-1', [1, 2]], ['mail-1', [3, 4]], ['ns1', [5]], ['ns2', [6]]]);
    assert.deepEqual(p.steps.map((s) => s.waits), [null, null, null, null, 'after step 4', 'after step 4']);
    assert.equal(p.running, 2);
    assert.equal(p.current, 'Setting up account on web-1 · Adding mail domain with DKIM on mail-1');
  });

  test('"now" names every running step; before any runs, every step ready to start', () => {
    assert.equal(happeningNow(SPLIT), 'Setting up account on web-1 · Adding mail domain with DKIM on mail-1');
    const queued = SPLIT.map((s) => ({ ...s, status: s.after.length === 0 ? 'queued' : 'waiting' }));
    assert.equal(happeningNow(queued), 'Creating package on web-1 · Creating package on mail-1');
    assert.equal(happeningNow(SPLIT.map((s) => ({ ...s, status: 'succeeded' }))), null);
  });

  test('the customer page shows the lanes side by side, each step with its own number', () => {
    const prog = progressOf(view(SPLIT));
    const html = render('ui/service', { id: 1, v: view(SPLIT), prog, deploying: true, poll: true, nonce: 'n' });
    const titles = [...html.matchAll(/<h3 class="lane-title">([^<]*)<\/h3>/g)].map((m) => m[1]);
    assert.deepEqual(titles, ['web-1', 'mail-1', 'ns1', 'ns2']);
    assert.match(html, /<div id="steps" class="lanes parallel">/);
    assert.deepEqual([...html.matchAll(/<li value="(\d+)"/g)].map((m) => Number(m[1])), [1, 2, 3, 4, 5, 6]);
  });

  test('a chain in sequence is one numbered list, as before: no lane titles', () => {
    const seq = [step(1, 0, [], 'Creating package', 'web-1', 'succeeded'), step(2, 0, [1], 'Setting up account', 'web-1', 'running'), step(3, 0, [2], 'Adding web domain', 'web-1', 'waiting')];
    const prog = progressOf(view(seq));
    assert.equal(prog.parallel, false);
    assert.equal(prog.lanes.length, 1);
    const html = render('ui/service', { id: 1, v: view(seq), prog, deploying: true, poll: true, nonce: 'n' });
    assert.match(html, /<div id="steps" class="lanes"><section class="lane" data-lane="0"><ol class="steps"><li value="1"/);
    assert.doesNotMatch(html, /<h3 class="lane-title"/);
  });

  test('the timeline puts steps on one axis: steps that ran together overlap, a step starts after what it waits for', () => {
    const tl = timelineOf(SPLIT, T0 + 2000);
    const bar = (no: number) => tl.steps[no - 1]!.bar!;
    assert.deepEqual(bar(1), { x: 0, w: 500, title: 'step 1: from +0 ms for 1.0 s' });
    assert.deepEqual(bar(3), { x: 100, w: 350, title: 'step 3: from +200 ms for 700 ms' });
    assert.equal(bar(2).x + bar(2).w, 1000, 'a running step reaches now');
    assert.match(bar(2).title, /still running/);
    assert.ok(bar(1).x < bar(3).x + bar(3).w && bar(3).x < bar(1).x + bar(1).w, 'steps 1 and 3 ran together');
    assert.equal(tl.steps[4]!.bar, null, 'a step that has not started has no bar');
    assert.equal(tl.span, '2.0 s');
  });

  test('the WHMCS admin tab numbers steps from 1 with what each waits for', () => {
    const { html } = renderServiceFragment(view(SPLIT), 'admin');
    const rows = [...html.matchAll(/<tr><td>(\d+)<\/td><td>([^<]*)<\/td>/g)].map((m) => [Number(m[1]), m[2]]);
    assert.deepEqual(rows, [[1, '—'], [2, '1'], [3, '—'], [4, '3'], [5, '4'], [6, '4']]);
  });
});
