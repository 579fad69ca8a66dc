// The IP pools behind the signature: pools (list, add, show, replace, remove), who holds each
// address of a pool, and an admin's reservations. Bodies are checked against their schemas
// (common/bodies.ts) and then by the pool rules (fleet/ip-pools.ts) before anything is written;
// a refusal is an InputError naming the field.
import type express from 'express';
import type { ApiDeps } from './deps.ts';
import { jsonBody, pathId, wrap } from './route-helpers.ts';
import { InputError } from '../common/errors.ts';
import { checkBody } from '../common/bodies.ts';
import {
  addPool, getPool, listPools, poolAddresses, removePool, reserveAddress, unreserveAddress, updatePool, type PoolInput,
} from '../fleet/ip-pools.ts';

interface Reservation { ip: string; note?: string }

export function addIpPoolRoutes(app: express.Router, deps: ApiDeps): void {
  const { db } = deps;

  app.get('/v1/ip-pools', wrap(async (_req, res) => {
    res.json({ ok: true, pools: await listPools(db) });
  }));
  app.post('/v1/ip-pools', wrap(async (req, res) => {
    const id = await addPool(db, checkBody<PoolInput>('IpPool', jsonBody(req)));
    res.status(201).json({ ok: true, id, pool: await getPool(db, id) });
  }));
  app.get('/v1/ip-pools/:id', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'pool id');
    const pool = await getPool(db, id);
    if (!pool) throw new InputError('', `IP pool ${id} does not exist`, 404);
    res.json({ ok: true, pool });
  }));
  app.put('/v1/ip-pools/:id', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'pool id');
    await updatePool(db, id, checkBody<PoolInput>('IpPool', jsonBody(req)));
    res.json({ ok: true, id, pool: await getPool(db, id) });
  }));
  app.delete('/v1/ip-pools/:id', wrap(async (req, res) => {
    await removePool(db, pathId(req.params.id, 'pool id'));
    res.json({ ok: true });
  }));
  app.get('/v1/ip-pools/:id/addresses', wrap(async (req, res) => {
    res.json({ ok: true, addresses: await poolAddresses(db, pathId(req.params.id, 'pool id')) });
  }));
  app.post('/v1/ip-pools/:id/reservations', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'pool id');
    const body = checkBody<Reservation>('IpReservation', jsonBody(req));
    const ip = await reserveAddress(db, id, body.ip, body.note ?? null);
    res.status(201).json({ ok: true, ip });
  }));
  // The address in the path is URL-encoded by the caller (an IPv6 address's ":" may stay as it is).
  app.delete('/v1/ip-pools/:id/reservations/:ip', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'pool id');
    const ip = String(req.params.ip);
    if (ip.length > 45) throw new InputError('ip', 'is not an IP address (too long)', 400);
    await unreserveAddress(db, id, ip);
    res.json({ ok: true });
  }));
}
