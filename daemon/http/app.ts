// The daemon's one HTTP listener: the express app with the API (daemon/api: /healthz and the signed
// /v1) and the pages (daemon/pages: /ui, with their own sessions and CSRF tokens) side by side.
// The root sends a browser to the pages; any other path is the API's JSON 404.
import http from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { createApiRouter } from '../api/server.ts';
import type { ApiDeps } from '../api/deps.ts';
import { createPagesRouter, PAGES_HOME } from '../pages/routes.ts';
import type { Logger } from '../log/logger.ts';
import type { MetricsHandler } from '../metrics/endpoint.ts';

/** The API needs all the pages need, and its nonce store: one set of handles serves both; metrics beside them. */
export type AppDeps = ApiDeps & { metrics?: MetricsHandler };

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // A browser opening the daemon's address lands on the pages (login, or the session's own page).
  app.get('/', (_req, res) => res.redirect(302, PAGES_HOME));
  app.use('/ui', createPagesRouter(deps));
  // Served, refused or pointed elsewhere as the configuration says (daemon/metrics/endpoint.ts).
  if (deps.metrics) app.get('/metrics', deps.metrics);
  app.use(createApiRouter(deps));

  app.use((_req, res) => {
    res.status(404).json({ error: 'no such route' });
  });
  app.use(lastResort(deps.logger));
  return app;
}

/** An error neither router answered (none is expected): a 500 with no detail, logged. */
function lastResort(logger: Logger) {
  return (err: Error, _req: Request, res: Response, _next: NextFunction) => {
    logger.error(`HTTP error: ${err.message}`);
    if (!res.headersSent) res.status(500).json({ error: 'internal error; see the daemon log' });
  };
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
