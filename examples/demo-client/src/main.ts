// Starts Photo Printer: `node dist/src/main.js` (configuration from the environment, see config.ts).
import { buildClientApp } from './app.js';
import { configFromEnv } from './config.js';

let config;
try {
  config = configFromEnv();
} catch (error) {
  console.error(`demo-client: ${(error as Error).message}`);
  process.exit(2);
}
const app = buildClientApp(config.app);

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
  const address = await app.listen({ host: config.listen.host, port: config.listen.port });
  console.log(`listening on ${address}`);
} catch (error) {
  console.error(`demo-client: cannot listen: ${(error as Error).message}`);
  process.exit(1);
}
