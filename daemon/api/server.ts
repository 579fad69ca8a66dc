// The daemon's HTTP API. This layer holds /healthz and the scheduler tick; the lifecycle routes
// of the WHMCS module are added beside them.
import http from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Knex } from 'knex';
import type { Logger } from '../log/logger.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import { NonceMemory, verify } from './signature.ts';
import { VERSION } from '../version.ts';

export interface ApiDeps {
  db: Knex;
  secret: string;
  scheduler: Scheduler;
  logger: Logger;
  onTick?: () => void;
}

declare module 'express-serve-static-core' {
  interface Request { rawBody?: Buffer }
}

export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const nonces = new NonceMemory();

  app.get('/healthz', async (_req, res) => {
    try {
      await deps.db.raw('select 1');
      res.json({ ok: true, version: VERSION, database: 'up' });
    } catch {
      res.status(503).json({ ok: false, version: VERSION, database: 'down' });
    }
  });

  app.use('/v1', express.raw({ type: () => true, limit: '256kb' }), (req: Request, res: Response, next: NextFunction) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const verdict = verify(deps.secret, nonces, req.method, req.originalUrl, req.headers, body);
    if (!verdict.ok) {
      res.status(401).json({ error: verdict.reason });
      return;
    }
    req.rawBody = body;
    next();
  });

  // What the WHMCS module's TestConnection calls: proves the secret and reports the version.
  app.get('/v1/status', async (_req, res) => {
    await deps.db.raw('select 1');
    res.json({ ok: true, version: VERSION, database: 'up' });
  });

  app.post('/v1/tick', async (_req, res) => {
    const lines: string[] = [];
    const results = await deps.scheduler.pass((l) => lines.push(l));
    deps.onTick?.();
    res.json({ ok: true, jobs: results, log: lines });
  });

  app.use((_req, res) => {
    res.status(404).json({ error: 'no such route' });
  });
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (err.type === 'entity.too.large') {
      res.status(413).json({ error: 'request body is larger than 256 KB' });
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
