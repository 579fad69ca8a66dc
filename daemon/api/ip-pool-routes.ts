// The IP pools behind the signature: pools (list, add, show, replace, remove), who holds each
// address of a pool, and an admin's reservations. Bodies are checked against their schemas
// (common/bodies.ts) and then by the pool rules (fleet/ip-pools.ts) before anything is written;
// a refusal is an InputError naming the field.
import type express from 'express';
import type { Request, Response, NextFunction } from 'express';
import type { ApiDeps } from './deps.ts';
import { InputError } from '../common/errors.ts';
import { checkBody } from '../common/bodies.ts';
import {
  addPool, getPool, listPools, poolAddresses, removePool, reserveAddress, unreserveAddress, updatePool, type PoolInput,
} from '../fleet/ip-pools.ts';

type Handler = (req: Request, res: Response) => Promise<void>;
const wrap = (fn: Handler) => (req: Request, res: Response, next: NextFunction) => { fn(req, res).catch(next); };

/** The body as JSON ({} when empty), as routes.ts reads it. */
function jsonBody(req: Request): unknown {
  const raw = req.rawBody ?? Buffer.alloc(0);
  if (raw.length === 0) return {};
  const type = String(req.headers['content-type'] ?? 'application/json');
  if (!/^application\/json\b/i.test(type)) throw new InputError('', `the body must be application/json, not ${type.slice(0, 60)}`, 415);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new InputError('', `the body is not valid JSON (${(err as Error).message.slice(0, 120)})`, 400);
  }
}

function poolId(value: unknown): number {
  const s = String(value);
  if (!/^[1-9][0-9]{0,9}$/.test(s) || Number(s) > 2147483647) throw new InputError('', `the pool id in the path must be a positive whole number, got "${s.slice(0, 40)}"`, 400);
  return Number(s);
}

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
    const id = poolId(req.params.id);
    const pool = await getPool(db, id);
    if (!pool) throw new InputError('', `IP pool ${id} does not exist`, 404);
    res.json({ ok: true, pool });
  }));
  app.put('/v1/ip-pools/:id', wrap(async (req, res) => {
    const id = poolId(req.params.id);
    await updatePool(db, id, checkBody<PoolInput>('IpPool', jsonBody(req)));
    res.json({ ok: true, id, pool: await getPool(db, id) });
  }));
  app.delete('/v1/ip-pools/:id', wrap(async (req, res) => {
    await removePool(db, poolId(req.params.id));
    res.json({ ok: true });
  }));
  app.get('/v1/ip-pools/:id/addresses', wrap(async (req, res) => {
    res.json({ ok: true, addresses: await poolAddresses(db, poolId(req.params.id)) });
  }));
  app.post('/v1/ip-pools/:id/reservations', wrap(async (req, res) => {
    const id = poolId(req.params.id);
    const body = checkBody<Reservation>('IpReservation', jsonBody(req));
    const ip = await reserveAddress(db, id, body.ip, body.note ?? null);
    res.status(201).json({ ok: true, ip });
  }));
  // The address in the path is URL-encoded by the caller (an IPv6 address's ":" may stay as it is).
  app.delete('/v1/ip-pools/:id/reservations/:ip', wrap(async (req, res) => {
    const id = poolId(req.params.id);
    const ip = String(req.params.ip);
    if (ip.length > 45) throw new InputError('ip', 'is not an IP address (too long)', 400);
    await unreserveAddress(db, id, ip);
    res.json({ ok: true });
  }));
}
