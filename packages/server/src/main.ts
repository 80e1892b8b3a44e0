// `gatehouse serve`: listen, print `listening on URL`, shut down cleanly on SIGTERM/SIGINT.
import type { Config } from './config/config.js';
import { createGatehouse } from './server.js';
import { describeDatabaseUrl } from './storage/index.js';

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

export async function serve(config: Config): Promise<void> {
  const gatehouse = await createGatehouse(config, { logger: loggerOptions(config) });
  const { app } = gatehouse;
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    gatehouse.close().then(
      () => process.exit(0),
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
