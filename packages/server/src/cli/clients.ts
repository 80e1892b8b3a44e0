// gatehouse clients create | list | delete
import { parseArgs } from 'node:util';
import { AUTH_METHOD_NAMES } from '../oauth/client-auth/index.js';
import { clientMetadata, registerClient } from '../oauth/clients.js';
import { DEFAULT_GRANT_TYPES, GRANT_TYPES } from '../oauth/grants/index.js';
import { nowSeconds } from '../oauth/crypto.js';
import { dashSafePositionals, print, UsageError, withStorage } from './common.js';

const HELP = `gatehouse clients — manage OAuth clients

  gatehouse clients create --name NAME --redirect-uri URL [--redirect-uri URL ...]
      [--grant-types ${GRANT_TYPES.join(',')}]
      [--scope "openid profile email offline_access ..."] [--public]
      [--auth-method ${AUTH_METHOD_NAMES.join('|')}] [--id-token-alg RS256|ES256|EdDSA]
      [--post-logout-redirect-uri URL ...] [--backchannel-logout-uri URL]
      [--default-scope "..."] [--default-resource URI ...] [--database URL] [--json]
      Prints the client_id and, for confidential clients, the client_secret — shown once, stored as a digest.
      Defaults: grant types ${DEFAULT_GRANT_TYPES.join(',')}; scope "openid profile email";
      auth method client_secret_basic (none with --public). --redirect-uri is needed only by grants that
      send a browser back (authorization_code); a device-flow client may have none.
      --post-logout-redirect-uri (repeatable): where /end-session may send the browser back (exact match;
      the same rules as redirect URIs). --backchannel-logout-uri: where logout tokens are POSTed when a
      user's session ends (https, or http on 127.0.0.1 / [::1]).
      --default-scope: what a request without \`scope\` gets (default: nothing beyond what the grant needs);
      never more than --scope. --default-resource (repeatable): the audience of tokens requested without
      \`resource\` (RFC 8707), instead of the server's --access-token-audience.
  gatehouse clients list [--database URL] [--json]
  gatehouse clients delete CLIENT_ID [--database URL]
`;

export async function clientsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'create') {
    const { values } = parseArgs({
      args: rest,
      strict: true,
      options: {
        name: { type: 'string' }, 'redirect-uri': { type: 'string', multiple: true }, 'grant-types': { type: 'string' },
        scope: { type: 'string' }, public: { type: 'boolean' }, 'auth-method': { type: 'string' }, 'id-token-alg': { type: 'string' },
        'post-logout-redirect-uri': { type: 'string', multiple: true }, 'backchannel-logout-uri': { type: 'string' },
        'default-scope': { type: 'string' }, 'default-resource': { type: 'string', multiple: true },
        database: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (!values.name) throw new UsageError('clients create needs --name NAME');
    const authMethod = values['auth-method'];
    if (authMethod === 'private_key_jwt') throw new UsageError('private_key_jwt is not available yet in this release');
    if (values.public && authMethod !== undefined && authMethod !== 'none') throw new UsageError('--public clients use --auth-method none');
    const grantTypes = values['grant-types']?.split(',').map((g) => g.trim()).filter((g) => g.length > 0);
    return withStorage(values.database, async (storage) => {
      const { client, clientSecret } = await registerClient(storage.clients, {
        clientName: values.name!,
        redirectUris: values['redirect-uri'] ?? [],
        grantTypes,
        scope: values.scope,
        isPublic: values.public === true || authMethod === 'none',
        authMethod,
        idTokenSignedResponseAlg: values['id-token-alg'],
        postLogoutRedirectUris: values['post-logout-redirect-uri'],
        backchannelLogoutUri: values['backchannel-logout-uri'],
        defaultScope: values['default-scope'],
        defaultResources: values['default-resource'],
      }, nowSeconds());
      const view = { ...clientMetadata(client), ...(clientSecret ? { client_secret: clientSecret } : {}) };
      const text = [
        `created client ${client.clientName}`,
        `client_id:     ${client.clientId}`,
        ...(clientSecret ? [`client_secret: ${clientSecret}`, '(the secret is shown only this once; store it now)'] : ['public client (no secret): PKCE is required']),
      ].join('\n');
      print(values.json === true, view, text);
      return 0;
    });
  }
  if (sub === 'list') {
    const { values } = parseArgs({ args: rest, strict: true, options: { database: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    return withStorage(values.database, async (storage) => {
      const clients = (await storage.clients.list()).map(clientMetadata);
      print(values.json === true, clients, clients.length === 0 ? 'no clients' : clients.map((c) => `${String(c.client_id)}\t${String(c.client_name)}\t${(c.redirect_uris as string[]).join(' ')}`).join('\n'));
      return 0;
    });
  }
  if (sub === 'delete') {
    const { values, positionals } = parseArgs({ args: dashSafePositionals(rest), strict: true, allowPositionals: true, options: { database: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('clients delete needs exactly one CLIENT_ID');
    return withStorage(values.database, async (storage) => {
      if (!(await storage.clients.delete(positionals[0]!))) {
        process.stderr.write(`gatehouse: no client with id ${positionals[0]}\n`);
        return 1;
      }
      print(false, null, `deleted client ${positionals[0]}`);
      return 0;
    });
  }
  throw new UsageError(`unknown clients command: ${sub}`);
}
