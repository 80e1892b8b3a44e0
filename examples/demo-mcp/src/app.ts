// The demo MCP server: a Model Context Protocol server over Streamable HTTP, protected by
// @gatehouse/resource-server. It knows nothing of users or passwords: every request to /mcp carries
// an RFC 9068 access token that Gatehouse minted for this server's resource identifier (its `aud`,
// RFC 8707), with the `mcp:tools` scope. Without one it answers 401 with
// `WWW-Authenticate: Bearer resource_metadata="…"` (RFC 9728 §5.1), which is how MCP clients find
// the authorization server: the metadata names Gatehouse in `authorization_servers`.
//
// Stateless: each POST gets a fresh McpServer and transport (no session id), so any number of
// instances can serve one resource.
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import {
  createVerifier,
  expressAccessToken,
  protectedResourceMetadata,
  protectedResourceMetadataUrl,
  type AccessTokenClaims,
  type AccessTokenVerifier,
} from '@gatehouse/resource-server';

export const MCP_SCOPE = 'mcp:tools';

export interface McpAppOptions {
  /** Issuer identifier of the authorization server, e.g. http://127.0.0.1:9000 */
  issuer: string;
  /** This server's resource identifier, the URL MCP clients connect to, e.g. http://127.0.0.1:9200/mcp */
  resource: string;
  /** A ready verifier instead of one built from issuer and resource (tests). */
  verifier?: AccessTokenVerifier;
}

/** The MCP server one authenticated request talks to: its tools see that request's token. */
export function mcpServerFor(token: AccessTokenClaims): McpServer {
  const server = new McpServer({ name: 'gatehouse-demo-mcp', version: '0.1.0' });
  server.registerTool(
    'whoami',
    { title: 'Who am I', description: 'Tells who the access token was issued to, for which client and with which scope.' },
    async () => ({
      content: [
        { type: 'text', text: JSON.stringify({ sub: token.sub, client_id: token.client_id, scope: token.scope ?? '', aud: token.aud }) },
      ],
    }),
  );
  server.registerTool(
    'add',
    { title: 'Add', description: 'Adds two numbers.', inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }),
  );
  return server;
}

export function buildMcpApp(options: McpAppOptions): Express {
  const resource = new URL(options.resource);
  if (resource.pathname === '/' || resource.search || resource.hash)
    throw new TypeError('the resource must be a URL with a path (e.g. http://127.0.0.1:9200/mcp), without query or fragment');
  const metadataUrl = protectedResourceMetadataUrl(options.resource);
  const verifier =
    options.verifier ?? createVerifier({ issuer: options.issuer, audience: options.resource, resourceMetadata: metadataUrl });
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.set('x-content-type-options', 'nosniff');
    next();
  });

  // RFC 9728: which authorization server issues tokens for this resource, and with which scopes.
  const metadata = protectedResourceMetadata({
    resource: options.resource,
    authorizationServers: [options.issuer],
    scopesSupported: [MCP_SCOPE],
    bearerMethodsSupported: ['header'],
    resourceName: 'Gatehouse demo MCP server',
  });
  app.get(new URL(metadataUrl).pathname, (_req, res) => {
    res.set('cache-control', 'public, max-age=300').set('access-control-allow-origin', '*').json(metadata);
  });

  const auth = expressAccessToken(verifier, { scopes: [MCP_SCOPE] });
  const path = resource.pathname;
  app.post(path, auth, express.json({ limit: '1mb' }), async (req: Request, res: Response, next: NextFunction) => {
    try {
      const server = mcpServerFor(req.accessToken!);
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        // DNS rebinding: only requests addressed to this server's own host.
        enableDnsRebindingProtection: true,
        allowedHosts: [resource.host],
      });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } catch (error) {
      next(error);
    }
  });
  // Stateless: no server-sent event stream and no session to delete (the token is still checked first).
  app.all(path, auth, (_req, res) => {
    res
      .status(405)
      .set('allow', 'POST')
      .json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    const status = typeof (error as { status?: unknown }).status === 'number' ? (error as { status: number }).status : 500;
    res
      .status(status >= 400 && status < 600 ? status : 500)
      .json({ jsonrpc: '2.0', error: { code: -32603, message: status < 500 ? 'Bad request.' : 'Internal error.' }, id: null });
  });
  return app;
}
