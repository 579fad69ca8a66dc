// The daemon's HTTP API as one router: /healthz, then everything under /v1 behind the HMAC
// signature, answering in JSON. The routes themselves live in routes.ts; this file holds the
// framing every route shares. The app that mounts it beside the pages is daemon/http/app.ts.
import express, { type NextFunction, type Request, type Response } from 'express';
import { checkSignature, verify } from './signature.ts';
import { DbNonceStore } from './nonces.ts';
import { addRoutes } from './routes.ts';
import { requireCompatibleModule } from './module-version.ts';
import { VERSION } from '../version.ts';
import { clientError } from './errors.ts';
import type { ApiDeps } from './deps.ts';

declare module 'express-serve-static-core' {
  interface Request {
    rawBody?: Buffer;
    /** A signed request's nonce not spent yet: its route spends it (CreateAccount, see below). */
    unspentNonce?: { nonce: string; nowS: number; spend(): Promise<boolean> };
  }
}

export function createApiRouter(deps: ApiDeps): express.Router {
  const api = express.Router();
  const nonces = deps.nonces ?? new DbNonceStore(deps.db);

  api.get('/healthz', async (_req, res) => {
    try {
      await deps.db.raw('select 1');
      res.json({ ok: true, version: VERSION, database: 'up' });
    } catch {
      res.status(503).json({ ok: false, version: VERSION, database: 'down' });
    }
  });

  api.use('/v1', express.raw({ type: () => true, limit: '256kb' }), (req: Request, res: Response, next: NextFunction) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    // CreateAccount spends its nonce in its route, beside the order's first reads rather than before
    // them: one database round trip fewer on the acknowledgement's path, whose every round trip
    // waits for this event loop, which the engine keeps busy (docs/task-engine.md). The route
    // awaits the nonce before it writes anything and answers a replay as a replay.
    if (req.method === 'POST' && req.path === '/services') {
      const nowS = Math.floor(Date.now() / 1000);
      const checked = checkSignature(deps.secret, req.method, req.originalUrl, req.headers, body, nowS);
      if (!checked.ok) {
        res.status(401).json({ error: checked.reason });
        return;
      }
      req.rawBody = body;
      req.unspentNonce = { nonce: checked.nonce, nowS, spend: async () => nonces.remember(checked.nonce, nowS) };
      next();
      return;
    }
    verify(deps.secret, nonces, req.method, req.originalUrl, req.headers, body).then((verdict) => {
      if (!verdict.ok) {
        res.status(401).json({ error: verdict.reason });
        return;
      }
      req.rawBody = body;
      next();
    }, next);
  });
  // A signed caller must also be a module of a version that goes with this daemon (docs/api.md).
  api.use('/v1', requireCompatibleModule());

  // What the WHMCS module's TestConnection calls: proves the secret and reports the version.
  api.get('/v1/status', async (_req, res) => {
    await deps.db.raw('select 1');
    const m = process.memoryUsage();
    const mb = (n: number) => Math.round(n / 104857.6) / 10;
    res.json({
      ok: true, version: VERSION, database: 'up',
      process: { pid: process.pid, uptime_s: Math.round(process.uptime()), rss_mb: mb(m.rss), heap_used_mb: mb(m.heapUsed), heap_total_mb: mb(m.heapTotal), external_mb: mb(m.external) },
    });
  });

  api.post('/v1/tick', async (_req, res) => {
    const lines: string[] = [];
    const results = await deps.scheduler.pass((l) => lines.push(l));
    deps.onTick?.();
    res.json({ ok: true, jobs: results, log: lines });
  });

  addRoutes(api, deps);

  api.use('/v1', (_req, res) => {
    res.status(404).json({ error: 'no such route' });
  });
  api.use((err: Error & { status?: number; type?: string; field?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (err.type === 'entity.too.large') {
      res.status(413).json({ error: 'request body is larger than 256 KB' });
      return;
    }
    const known = clientError(err);
    if (known) {
      res.status(known.status).json(known.body);
      return;
    }
    deps.logger.error(`API error: ${err.message}`);
    res.status(500).json({ error: 'internal error; see the daemon log' });
  });
  return api;
}
