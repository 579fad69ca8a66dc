// sendPages writes a listing of every service a page at a time: the client reads one whole JSON
// document in order, and a page that fails once the answer has begun cuts the connection, so a
// client never takes a short list for the whole one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { sendPages, wrap } from '../../daemon/api/route-helpers.ts';

async function serve(page: (after: number, limit: number) => Promise<Array<{ whmcs_service_id: number }>>): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.get('/list', wrap(async (_req, res) => sendPages(res, 'services', page)));
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => { res.status(500).json({ ok: false, error: err.message }); });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/list`, close: () => new Promise((r) => server.close(() => r())) };
}

const rows = Array.from({ length: 2345 }, (_, i) => ({ whmcs_service_id: 10 + 3 * i, domain: `d${i}.example.com` }));
const pageOf = (after: number, limit: number) => Promise.resolve(rows.filter((r) => r.whmcs_service_id > after).slice(0, limit));

test('a listing of 2,345 rows arrives whole and in order, read a page at a time', async () => {
  const asked: number[] = [];
  const s = await serve((after, limit) => { asked.push(after); return pageOf(after, limit); });
  try {
    const res = await fetch(s.url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const body = await res.json();
    assert.equal(body.ok, true);
    assert.deepEqual(body.services, rows);
    assert.deepEqual(asked, [0, rows[999]!.whmcs_service_id, rows[1999]!.whmcs_service_id]);
  } finally {
    await s.close();
  }
});

test('an empty listing is an empty list; a first page that fails is an error answer', async () => {
  const empty = await serve(async () => []);
  try {
    assert.deepEqual(await (await fetch(empty.url)).json(), { ok: true, services: [] });
  } finally {
    await empty.close();
  }
  const failing = await serve(async () => { throw new Error('database is down'); });
  try {
    const res = await fetch(failing.url);
    assert.equal(res.status, 500);
    assert.equal((await res.json()).error, 'database is down');
  } finally {
    await failing.close();
  }
});

test('a page that fails after the answer began cuts the connection: the body never reads as a whole list', async () => {
  const s = await serve(async (after, limit) => {
    if (after > 0) throw new Error('connection lost');
    return pageOf(after, limit);
  });
  try {
    const res = await fetch(s.url);
    assert.equal(res.status, 200);
    await assert.rejects(res.json());
  } finally {
    await s.close();
  }
});
