// /v1/kvm-profiles: the KVM product profiles, behind the signature like every /v1 route. The list
// also feeds the WHMCS module's "KVM profile" dropdown (configoption15). Bodies are checked
// against the KvmProfile schema, then field by field (normaliseKvmProfile): a bad one is a 422
// naming the field, and nothing is saved.
import type express from 'express';
import type { ApiDeps } from './deps.ts';
import { jsonBody, pathId, wrap } from './route-helpers.ts';
import { InputError } from '../common/errors.ts';
import { checkBody } from '../common/bodies.ts';
import { addKvmProfile, getKvmProfile, listKvmProfiles, removeKvmProfile, updateKvmProfile } from '../fleet/kvm-profiles.ts';
import type { KvmProfileInput } from '../pipelines/kvm-product.ts';

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
    const id = pathId(req.params.id, 'KVM profile id');
    const profile = await getKvmProfile(db, id);
    if (!profile) throw new InputError('', `KVM profile ${id} does not exist`, 404);
    res.json({ ok: true, profile });
  }));
  app.put('/v1/kvm-profiles/:id', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'KVM profile id');
    await updateKvmProfile(db, id, checkBody<KvmProfileInput>('KvmProfile', jsonBody(req)));
    res.json({ ok: true, id });
  }));
  app.delete('/v1/kvm-profiles/:id', wrap(async (req, res) => {
    await removeKvmProfile(db, pathId(req.params.id, 'KVM profile id'));
    res.json({ ok: true });
  }));
}
