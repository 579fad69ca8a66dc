// The daemon's HTTP API: /healthz, then everything under /v1 behind the HMAC signature. The
// routes themselves live in routes.ts; this file holds the framing every route shares.
import http from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Knex } from 'knex';
import type { Logger } from '../log/logger.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { Queue } from '../engine/queue.ts';
import { verify, type NonceStore } from './signature.ts';
import { DbNonceStore } from './nonces.ts';
import { addRoutes } from './routes.ts';
import { VERSION } from '../version.ts';
import { clientError } from './errors.ts';
import { createUiRouter } from '../ui/routes.ts';

export interface ApiDeps {
  db: Knex;
  /** The database with the chain-end hooks: admin operations and force-terminate's cancellations go through it. */
  queue: Queue;
  secret: string;
  masterKey: Buffer;
  scheduler: Scheduler;
  logger: Logger;
  /** Called when a call has made work due (a tick, a new chain): wakes the engine. */
  onTick?: () => void;
  nonces?: NonceStore;
}

declare module 'express-serve-static-core' {
  interface Request { rawBody?: Buffer }
}

export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const nonces = deps.nonces ?? new DbNonceStore(deps.db);

  app.get('/healthz', async (_req, res) => {
    try {
      await deps.db.raw('select 1');
      res.json({ ok: true, version: VERSION, database: 'up' });
    } catch {
      res.status(503).json({ ok: false, version: VERSION, database: 'down' });
    }
  });

  // The pages (admin and customer) under /ui: their own sessions and CSRF tokens, no signature.
  app.use('/ui', createUiRouter(deps));

  app.use('/v1', express.raw({ type: () => true, limit: '256kb' }), (req: Request, res: Response, next: NextFunction) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    verify(deps.secret, nonces, req.method, req.originalUrl, req.headers, body).then((verdict) => {
      if (!verdict.ok) {
        res.status(401).json({ error: verdict.reason });
        return;
      }
      req.rawBody = body;
      next();
    }, next);
  });

  // What the WHMCS module's TestConnection calls: proves the secret and reports the version.
  app.get('/v1/status', async (_req, res) => {
    await deps.db.raw('select 1');
    const m = process.memoryUsage();
    const mb = (n: number) => Math.round(n / 104857.6) / 10;
    res.json({
      ok: true, version: VERSION, database: 'up',
      process: { pid: process.pid, uptime_s: Math.round(process.uptime()), rss_mb: mb(m.rss), heap_used_mb: mb(m.heapUsed), heap_total_mb: mb(m.heapTotal), external_mb: mb(m.external) },
    });
  });

  app.post('/v1/tick', async (_req, res) => {
    const lines: string[] = [];
    const results = await deps.scheduler.pass((l) => lines.push(l));
    deps.onTick?.();
    res.json({ ok: true, jobs: results, log: lines });
  });

  addRoutes(app, deps);

  app.use((_req, res) => {
    res.status(404).json({ error: 'no such route' });
  });
  app.use((err: Error & { status?: number; type?: string; field?: string }, _req: Request, res: Response, _next: NextFunction) => {
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
  return app;
}

export function listen(app: express.Express, host: string, port: number): Promise<http.Server> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(app);
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
