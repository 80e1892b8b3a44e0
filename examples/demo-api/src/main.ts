// Starts the demo photos API: `node dist/src/main.js`.
// Environment: DEMO_API_HOST (127.0.0.1), DEMO_API_PORT (9100),
// DEMO_API_ISSUER (http://127.0.0.1:9000), DEMO_API_RESOURCE (http://HOST:PORT, the required audience),
// DEMO_API_INTROSPECTION_CLIENT_ID / DEMO_API_INTROSPECTION_CLIENT_SECRET (the API's own resource
// credentials: when set, every token is checked by introspection).
import type { FastifyInstance } from 'fastify';
import { buildApi } from './app.js';

const host = process.env.DEMO_API_HOST || '127.0.0.1';
const port = Number(process.env.DEMO_API_PORT || '9100');
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`demo-api: DEMO_API_PORT must be a TCP port, got ${process.env.DEMO_API_PORT}`);
  process.exit(2);
}
const issuer = process.env.DEMO_API_ISSUER || 'http://127.0.0.1:9000';
const resource = process.env.DEMO_API_RESOURCE || `http://${host}:${port}`;

let app: FastifyInstance;
try {
  const clientId = process.env.DEMO_API_INTROSPECTION_CLIENT_ID;
  const clientSecret = process.env.DEMO_API_INTROSPECTION_CLIENT_SECRET;
  const introspection = clientId && clientSecret ? { clientId, clientSecret } : undefined;
  app = buildApi({ issuer, resource, logger: process.env.DEMO_API_LOG !== 'off', ...(introspection ? { introspection } : {}) });
} catch (error) {
  console.error(`demo-api: ${(error as Error).message}`);
  process.exit(2);
}

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  app.log.info({ signal }, 'shutting down');
  try {
    await app.close();
    process.exit(0);
  } catch (error) {
    console.error(error);
    process.exit(1);
  }
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));

try {
  const address = await app.listen({ host, port });
  console.log(`listening on ${address}`);
} catch (error) {
  console.error(`demo-api: cannot listen: ${(error as Error).message}`);
  process.exit(1);
}
