// `gatehouse serve`: listen, print `listening on URL`, shut down cleanly on SIGTERM/SIGINT.
import net from 'node:net';
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
/** After SIGTERM the listener and idle connections stay open this long (at most the grace), answering 503. */
const LINGER_MS = 1000;

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

  // R6: SIGTERM/SIGINT drain. /readyz fails at once and every request from then on gets the
  // protocol's 503 temporarily_unavailable (health/health.ts), while requests already in flight
  // finish and their responses close their keep-alive connections. For a short linger the node still
  // accepts connections: under load, connections the kernel has accepted may wait in the listen
  // backlog, and requests may sit unread in socket buffers; closing the listener or those "idle"
  // connections at once would reset requests clients had already sent. After the linger the listener
  // closes and idle connections are closed as they appear; whatever is still open after the grace is
  // closed; then storage is closed and the process exits 0.
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    const started = Date.now();
    const grace = config.shutdownGrace;
    const linger = Math.min(LINGER_MS, grace);
    app.log.info({ signal, graceMs: grace }, 'shutting down: draining');
    startDraining(app);
    const hard = setTimeout(() => {
      app.log.error('shutdown did not complete: exiting');
      process.exit(1);
    }, grace + CLOSE_MARGIN_MS);
    hard.unref();
    let listening = true;
    const drained = new Promise<void>((resolve) => {
      const tick = () => {
        const elapsed = Date.now() - started;
        if (listening && elapsed >= linger) {
          listening = false;
          // Stop listening without http.Server.close()'s immediate closeIdleConnections().
          net.Server.prototype.close.call(app.server);
        }
        if (elapsed >= grace) app.server.closeAllConnections();
        else if (!listening) app.server.closeIdleConnections();
        if (listening) return;
        app.server.getConnections((err, count) => {
          if (err || count > 0) return;
          clearInterval(timer);
          resolve();
        });
      };
      const timer = setInterval(tick, 50);
      tick();
    });
    drained
      .then(() => {
        if (Date.now() - started >= grace) app.log.warn({ graceMs: grace }, 'shutdown grace over: the remaining connections were closed');
        return gatehouse.close();
      })
      .then(
        () => {
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
