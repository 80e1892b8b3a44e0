// `gatehouse serve`: listen, print `listening on URL`, shut down cleanly on SIGTERM/SIGINT.
import type { Config } from './config/config.js';
import { startDraining } from './health/health.js';
import { createGatehouse } from './server.js';
import { describeDatabaseUrl } from './storage/index.js';
import { isUnavailable } from './storage/errors.js';

export function loggerOptions(config: Config) {
  return {
    level: config.logLevel,
    // CR-05: no credentials in logs — query strings (state, code_challenge) and secrets stay out.
    redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
    serializers: {
      req: (req: { method: string; url: string; ip?: string }) => ({ method: req.method, path: req.url.split('?')[0], ip: req.ip }),
    },
  };
}

/** After the grace, closing storage may take this long before the process gives up (exit 1). */
const CLOSE_MARGIN_MS = 5000;

export async function serve(config: Config): Promise<void> {
  const gatehouse = await createGatehouse(config, { logger: loggerOptions(config) });
  const { app } = gatehouse;

  // A database failure that escaped every handler (a background task) is logged, not fatal: the pool
  // recovers by itself. Anything else is a bug: log it and exit, as Node would.
  process.on('unhandledRejection', (reason) => {
    if (isUnavailable(reason)) {
      app.log.error({ err: reason }, 'database unavailable (unhandled)');
      return;
    }
    app.log.fatal({ err: reason }, 'unhandled rejection');
    process.exit(1);
  });

  // R6: SIGTERM/SIGINT drain. The listener closes at once (new connections go to other nodes);
  // requests in flight finish and their responses close their keep-alive connections; a request
  // that arrives on an open connection gets 503 temporarily_unavailable (health/health.ts); idle
  // connections are closed. What is still open after the grace is closed, storage is closed, exit 0.
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    const started = Date.now();
    app.log.info({ signal, graceMs: config.shutdownGrace }, 'shutting down: draining');
    startDraining(app);
    const idle = setInterval(() => app.server.closeIdleConnections(), 100);
    const force = setTimeout(() => {
      app.log.warn({ graceMs: config.shutdownGrace }, 'shutdown grace over: closing the remaining connections');
      app.server.closeAllConnections();
    }, config.shutdownGrace);
    const hard = setTimeout(() => {
      app.log.error('shutdown did not complete: exiting');
      process.exit(1);
    }, config.shutdownGrace + CLOSE_MARGIN_MS);
    hard.unref();
    gatehouse.close().then(
      () => {
        clearInterval(idle);
        clearTimeout(force);
        app.log.info({ ms: Date.now() - started }, 'shut down');
        process.exit(0);
      },
      (err: unknown) => {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await app.listen({ host: config.host, port: config.port });
  app.log.info({ issuer: config.issuer, database: describeDatabaseUrl(config.databaseUrl) }, 'gatehouse ready');
  process.stdout.write(`listening on ${config.issuer}\n`);
}
