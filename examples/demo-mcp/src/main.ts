// Starts the demo MCP server: `node dist/src/main.js`.
// Environment: DEMO_MCP_HOST (127.0.0.1), DEMO_MCP_PORT (9200; a fixed port, since it is part of the
// resource identifier), DEMO_MCP_ISSUER (http://127.0.0.1:9000), DEMO_MCP_RESOURCE (http://HOST:PORT/mcp:
// the URL clients connect to and the audience its tokens must carry).
import { buildMcpApp } from './app.js';

const host = process.env.DEMO_MCP_HOST || '127.0.0.1';
const port = Number(process.env.DEMO_MCP_PORT || '9200');
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`demo-mcp: DEMO_MCP_PORT must be a TCP port (1-65535), got ${process.env.DEMO_MCP_PORT}`);
  process.exit(2);
}
const issuer = process.env.DEMO_MCP_ISSUER || 'http://127.0.0.1:9000';
const resource = process.env.DEMO_MCP_RESOURCE || `http://${host.includes(':') ? `[${host}]` : host}:${port}/mcp`;

let app;
try {
  app = buildMcpApp({ issuer, resource });
} catch (error) {
  console.error(`demo-mcp: ${(error as Error).message}`);
  process.exit(2);
}
const server = app.listen(port, host);
server.once('error', (error) => {
  console.error(`demo-mcp: ${error.message}`);
  process.exit(1);
});
server.once('listening', () => console.log(`listening on ${resource}`));

let closing = false;
function shutdown(): void {
  if (closing) return;
  closing = true;
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
