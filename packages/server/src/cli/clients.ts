// gatehouse clients create | list | delete
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AUTH_METHOD_NAMES } from '../oauth/client-auth/index.js';
import { clientMetadata } from '../oauth/clients.js';
import { createClient, rotateClientSecret, setClientDisabled } from '../oauth/admin/clients.js';
import { DEFAULT_GRANT_TYPES, GRANT_TYPES } from '../oauth/grants/index.js';
import { deleteClient } from '../oauth/lifecycle.js';
import { cliAdminContext, dashSafePositionals, print, refusedAsExit, UsageError, withStorage } from './common.js';
import { cliLifecycleDeps, LIFECYCLE_OPTIONS, lifecycleConfig, reportLifecycle } from './lifecycle-report.js';

const HELP = `gatehouse clients — manage OAuth clients

  gatehouse clients create --name NAME --redirect-uri URL [--redirect-uri URL ...]
      [--grant-types ${GRANT_TYPES.join(',')}]
      [--scope "openid profile email offline_access ..."] [--public]
      [--auth-method ${AUTH_METHOD_NAMES.join('|')}] [--id-token-alg RS256|ES256|EdDSA]
      [--jwks-file PATH | --jwks JSON | --jwks-uri URL] [--require-par] [--dpop-bound]
      [--post-logout-redirect-uri URL ...] [--backchannel-logout-uri URL]
      [--default-scope "..."] [--default-resource URI ...]
      [--token-exchange-resource URI ...] [--token-exchange-impersonation] [--database URL] [--json]
      Prints the client_id and, for confidential clients, the client_secret — shown once, stored as a digest.
      --jwks-file PATH / --jwks JSON / --jwks-uri URL: the client's public keys (a JWK Set, RFC 7517), required
      with --auth-method private_key_jwt (exactly one of the three): the client authenticates with JWTs signed by
      one of them (RFC 7523); such a client gets no client_secret. Private keys and symmetric keys are refused.
      --jwks-uri is fetched when needed (https only, public addresses only, cached).
      --require-par: this client must send its authorization requests through the PAR endpoint (RFC 9126).
      --dpop-bound: the client always uses DPoP (RFC 9449 §5.2, dpop_bound_access_tokens): a token or PAR request
      of it without a DPoP proof is refused (invalid_dpop_proof), so every access token it gets is DPoP-bound.
      Defaults: grant types ${DEFAULT_GRANT_TYPES.join(',')}; scope "openid profile email";
      auth method client_secret_basic (none with --public). --redirect-uri is needed only by grants that
      send a browser back (authorization_code); a device-flow client may have none.
      --post-logout-redirect-uri (repeatable): where /end-session may send the browser back (exact match;
      the same rules as redirect URIs). --backchannel-logout-uri: where logout tokens are POSTed when a
      user's session ends (https, or http on 127.0.0.1 / [::1]).
      --default-scope: what a request without \`scope\` gets (default: nothing beyond what the grant needs);
      never more than --scope. --default-resource (repeatable): the audience of tokens requested without
      \`resource\` (RFC 8707), instead of the server's --access-token-audience.
      --token-exchange-resource URI (repeatable; needs the token-exchange grant in --grant-types): a registered
      resource this confidential client may exchange users' access tokens for (RFC 8693); every other resource
      is refused (invalid_target). The new tokens name the client as actor (\`act\`).
      --token-exchange-impersonation: UNSAFE opt-out — an exchange without actor_token issues a token that does
      not name this client as actor (impersonation). Off by default.
  gatehouse clients list [--database URL] [--json]
  gatehouse clients rotate-secret CLIENT_ID [--database URL] [--json]
      Issues a new client_secret (shown once, stored as a digest) and replaces the old one: the old
      secret stops working at once (no overlap). Tokens already issued stay valid.
  gatehouse clients disable CLIENT_ID | clients enable CLIENT_ID [--database URL] [--json]
      A disabled client cannot authenticate or start an authorization, and its refresh tokens, codes
      and access tokens are revoked; its users' grants stay for when it is enabled again.
  gatehouse clients delete CLIENT_ID [--issuer URL] [--database URL] [--json]
      Deletes the client and revokes everything issued to it: every user's grant to it, its refresh-token
      families, live access tokens (denied by id until they expire), unredeemed codes and device codes.
      A registered backchannel_logout_uri gets a logout token per user; --issuer (or GATEHOUSE_ISSUER) is its iss.
`;

/** --jwks-file PATH, --jwks JSON and --jwks-uri URL: at most one; the JSON is parsed here, checked by registration. */
function jwksFromFlags(file: string | undefined, inline: string | undefined, uri: string | undefined): unknown {
  if ([file, inline, uri].filter((v) => v !== undefined).length > 1)
    throw new UsageError('use only one of --jwks-file, --jwks and --jwks-uri');
  let text: string;
  if (file !== undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read --jwks-file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  } else if (inline !== undefined) {
    text = inline;
  } else {
    return undefined;
  }
  if (text.length > 256 * 1024) throw new UsageError('the JWK Set is too large');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`${file !== undefined ? '--jwks-file' : '--jwks'} is not valid JSON`);
  }
}

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
        name: { type: 'string' },
        'redirect-uri': { type: 'string', multiple: true },
        'grant-types': { type: 'string' },
        scope: { type: 'string' },
        public: { type: 'boolean' },
        'auth-method': { type: 'string' },
        'id-token-alg': { type: 'string' },
        'post-logout-redirect-uri': { type: 'string', multiple: true },
        'backchannel-logout-uri': { type: 'string' },
        'default-scope': { type: 'string' },
        'default-resource': { type: 'string', multiple: true },
        'jwks-file': { type: 'string' },
        jwks: { type: 'string' },
        'jwks-uri': { type: 'string' },
        'require-par': { type: 'boolean' },
        'dpop-bound': { type: 'boolean' },
        'token-exchange-resource': { type: 'string', multiple: true },
        'token-exchange-impersonation': { type: 'boolean' },
        database: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (!values.name) throw new UsageError('clients create needs --name NAME');
    const authMethod = values['auth-method'];
    const jwks = jwksFromFlags(values['jwks-file'], values.jwks, values['jwks-uri']);
    if (values.public && authMethod !== undefined && authMethod !== 'none') throw new UsageError('--public clients use --auth-method none');
    const grantTypes = values['grant-types']
      ?.split(',')
      .map((g) => g.trim())
      .filter((g) => g.length > 0);
    return withStorage(values.database, async (storage) => {
      const { client, clientSecret } = await createClient(cliAdminContext(storage, values.database), {
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
        jwks,
        jwksUri: values['jwks-uri'],
        requirePushedAuthorizationRequests: values['require-par'] === true,
        dpopBoundAccessTokens: values['dpop-bound'] === true,
        tokenExchangeResources: values['token-exchange-resource'],
        tokenExchangeImpersonation: values['token-exchange-impersonation'] === true,
      });
      const view = { ...clientMetadata(client), ...(clientSecret ? { client_secret: clientSecret } : {}) };
      const text = [
        `created client ${client.clientName}`,
        `client_id:     ${client.clientId}`,
        ...(clientSecret
          ? [`client_secret: ${clientSecret}`, '(the secret is shown only this once; store it now)']
          : client.isPublic
            ? ['public client (no secret): PKCE is required']
            : [`authenticates with ${client.authMethod} (no secret): signed with a key of its registered set`]),
      ].join('\n');
      print(values.json === true, view, text);
      return 0;
    });
  }
  if (sub === 'list') {
    const { values } = parseArgs({
      args: rest,
      strict: true,
      options: { database: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    return withStorage(values.database, async (storage) => {
      const clients = (await storage.clients.list()).map(clientMetadata);
      print(
        values.json === true,
        clients,
        clients.length === 0
          ? 'no clients'
          : clients.map((c) => `${String(c.client_id)}\t${String(c.client_name)}\t${(c.redirect_uris as string[]).join(' ')}`).join('\n'),
      );
      return 0;
    });
  }
  if (sub === 'delete') {
    const { values, positionals } = parseArgs({
      args: dashSafePositionals(rest),
      strict: true,
      allowPositionals: true,
      options: LIFECYCLE_OPTIONS,
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('clients delete needs exactly one CLIENT_ID');
    const config = lifecycleConfig(values);
    return withStorage(values.database, async (storage) => {
      const result = await deleteClient(cliLifecycleDeps(storage), positionals[0]!);
      if (!result) {
        process.stderr.write(`gatehouse: no client with id ${positionals[0]}\n`);
        return 1;
      }
      await reportLifecycle(storage, config, result, {
        json: values.json === true,
        heading: `deleted client ${positionals[0]} and revoked:`,
        fields: { client_id: positionals[0] },
      });
      return 0;
    });
  }
  if (sub === 'rotate-secret' || sub === 'disable' || sub === 'enable') {
    const { values, positionals } = parseArgs({
      args: dashSafePositionals(rest),
      strict: true,
      allowPositionals: true,
      options: { database: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(`clients ${sub} needs exactly one CLIENT_ID`);
    const clientId = positionals[0]!;
    return withStorage(values.database, (storage) =>
      refusedAsExit(async () => {
        const ctx = cliAdminContext(storage, values.database);
        if (sub === 'rotate-secret') {
          const { clientSecret } = await rotateClientSecret(ctx, clientId);
          print(
            values.json === true,
            { client_id: clientId, client_secret: clientSecret },
            [
              `client_id:     ${clientId}`,
              `client_secret: ${clientSecret}`,
              '(shown only this once; the previous secret no longer works)',
            ].join('\n'),
          );
          return 0;
        }
        const view = await setClientDisabled(ctx, clientId, sub === 'disable');
        print(values.json === true, view, `${sub === 'disable' ? 'disabled' : 'enabled'} client ${clientId}`);
        return 0;
      }),
    );
  }
  throw new UsageError(`unknown clients command: ${sub}`);
}
