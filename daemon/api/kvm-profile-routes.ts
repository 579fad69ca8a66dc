// /v1/kvm-profiles: the KVM product profiles, behind the signature like every /v1 route. The list
// also feeds the WHMCS module's "KVM profile" dropdown (configoption15). Bodies are checked
// against the KvmProfile schema, then field by field (normaliseKvmProfile): a bad one is a 422
// naming the field, and nothing is saved.
import type express from 'express';
import type { Request, Response, NextFunction } from 'express';
import type { ApiDeps } from './deps.ts';
import { InputError } from '../common/errors.ts';
import { checkBody } from '../common/bodies.ts';
import { addKvmProfile, getKvmProfile, listKvmProfiles, removeKvmProfile, updateKvmProfile } from '../fleet/kvm-profiles.ts';
import type { KvmProfileInput } from '../pipelines/kvm-product.ts';

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

function profileId(value: unknown): number {
  const s = String(value);
  if (!/^[1-9][0-9]{0,9}$/.test(s) || Number(s) > 2147483647) throw new InputError('', `the KVM profile id in the path must be a positive whole number, got "${s.slice(0, 40)}"`, 400);
  return Number(s);
}

export function addKvmProfileRoutes(app: express.Router, deps: ApiDeps): void {
  const { db } = deps;
  app.get('/v1/kvm-profiles', wrap(async (_req, res) => {
    res.json({ ok: true, profiles: await listKvmProfiles(db) });
  }));
  app.post('/v1/kvm-profiles', wrap(async (req, res) => {
    const id = await addKvmProfile(db, checkBody<KvmProfileInput>('KvmProfile', jsonBody(req)));
    res.status(201).json({ ok: true, id });
  }));
  app.get('/v1/kvm-profiles/:id', wrap(async (req, res) => {
    const id = profileId(req.params.id);
    const profile = await getKvmProfile(db, id);
    if (!profile) throw new InputError('', `KVM profile ${id} does not exist`, 404);
    res.json({ ok: true, profile });
  }));
  app.put('/v1/kvm-profiles/:id', wrap(async (req, res) => {
    const id = profileId(req.params.id);
    await updateKvmProfile(db, id, checkBody<KvmProfileInput>('KvmProfile', jsonBody(req)));
    res.json({ ok: true, id });
  }));
  app.delete('/v1/kvm-profiles/:id', wrap(async (req, res) => {
    await removeKvmProfile(db, profileId(req.params.id));
    res.json({ ok: true });
  }));
}
