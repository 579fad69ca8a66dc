// POST /v1/ui-links: the WHMCS module asks for a link to the pages for a customer (one service's
// page) or an admin (a session). The answer's url is built from the address the module reached
// the daemon at; `path` is the same link without it, for a daemon behind a proxy.
import type { Request } from 'express';
import type { Knex } from 'knex';
import { T } from '../common/tables.ts';
import { InputError } from '../common/errors.ts';
import { newLink } from './links.ts';

export interface UiLinkBody { audience: 'client' | 'admin'; whmcs_service_id?: number; page?: string }

export async function issueUiLink(deps: { db: Knex; secret: string }, body: UiLinkBody, req: Request): Promise<{ ok: true; url: string; path: string; expires_at: number }> {
  if (body.audience === 'client') {
    if (body.whmcs_service_id === undefined) throw new InputError('whmcs_service_id', 'is required for a client link');
    if (body.page !== undefined) throw new InputError('page', 'is for admin links only; a client link opens its service\'s page');
  }
  if (body.whmcs_service_id !== undefined && !(await deps.db(T.services).where('whmcs_service_id', body.whmcs_service_id).first('id'))) {
    throw new InputError('whmcs_service_id', `service ${body.whmcs_service_id} is not known to hostbridge`, 404);
  }
  const { token, expiresAt } = newLink(deps.secret, body.audience, { serviceId: body.whmcs_service_id, page: body.page });
  const path = `/ui/link?t=${token}`;
  const host = String(req.headers.host ?? '');
  const base = /^[A-Za-z0-9.:[\]-]{1,300}$/.test(host) ? `${req.protocol}://${host}` : '';
  return { ok: true, url: base + path, path, expires_at: expiresAt };
}
