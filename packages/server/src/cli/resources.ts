// gatehouse resources create | list | update | delete — the APIs tokens are minted for (RFC 8707;
// the rules are in oauth/resources.ts).
import { parseArgs } from 'node:util';
import { SUPPORTED_SIGNING_ALGS } from '../oauth/keys/key-store.js';
import { ResourceError, resourceView } from '../oauth/resources.js';
import { changeResource, createResource, removeResource } from '../oauth/admin/resources.js';
import { OAuthError } from '../oauth/errors.js';
import { cliAdminContext, dashSafePositionals, print, UsageError, withStorage } from './common.js';

const HELP = `gatehouse resources — protected resources (APIs) for resource indicators (RFC 8707)

  gatehouse resources create --uri URI --scope "api:read api:write" [--name NAME]
      [--scope-description "api:read=Read your orders"]... [--access-token-ttl SECONDS]
      [--signing-alg ${SUPPORTED_SIGNING_ALGS.join('|')}] [--no-introspection] [--database URL] [--json]
      URI is an absolute URI without a fragment: the value clients send as resource=URI, and the aud
      of every access token minted for it. --scope lists the scopes it accepts (several resources may
      use the same names); --scope-description gives the plain words the consent page shows.
      --access-token-ttl may shorten (never lengthen) the server's access-token lifetime for it;
      --signing-alg picks the algorithm of its tokens (default ES256).
      Prints, once, the credentials the resource server uses at the introspection endpoint
      (client_secret_basic); only their digest is stored. --no-introspection issues none.
  gatehouse resources list [--database URL] [--json]
  gatehouse resources update URI [--name NAME] [--scope "..."] [--scope-description "s=words"]...
      [--access-token-ttl SECONDS] [--signing-alg ALG] [--database URL] [--json]
      --scope replaces the list of scopes; descriptions of scopes it no longer lists are dropped.
  gatehouse resources delete URI [--database URL]
      Tokens already minted for it keep verifying until they expire; no new ones are minted.
`;

/** `--scope-description "scope=Plain words"`, repeatable. */
function descriptions(values: readonly string[] | undefined): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new UsageError(`--scope-description takes "scope=Plain words", got ${JSON.stringify(value)}`);
    out[value.slice(0, eq).trim()] = value.slice(eq + 1).trim();
  }
  return out;
}

function ttl(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,6}$/.test(value)) throw new UsageError('--access-token-ttl takes a number of seconds');
  return Number(value);
}

const scopesOf = (value: string | undefined) => value?.split(' ').filter((s) => s.length > 0);

function failed(e: unknown): number {
  if (e instanceof ResourceError) {
    process.stderr.write(`gatehouse: ${e.message}\n`);
    return 1;
  }
  // The service layer's refusals (a duplicate, a missing resource) and the registration rules' errors.
  if (e instanceof OAuthError && e.status < 500) {
    process.stderr.write(`gatehouse: ${e.code}: ${e.description}\n`);
    return 1;
  }
  throw e;
}

const common = { database: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;
const fields = {
  name: { type: 'string' },
  scope: { type: 'string' },
  'scope-description': { type: 'string', multiple: true },
  'access-token-ttl': { type: 'string' },
  'signing-alg': { type: 'string' },
} as const;

export async function resourcesCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'create') {
    const { values } = parseArgs({
      args: rest,
      strict: true,
      options: { uri: { type: 'string' }, 'no-introspection': { type: 'boolean' }, ...fields, ...common },
    });
    if (values.help) return (process.stdout.write(HELP), 0);
    if (!values.uri) throw new UsageError('resources create needs --uri URI');
    return withStorage(values.database, async (storage) => {
      try {
        const { resource, credentials } = await createResource(cliAdminContext(storage, values.database), {
          uri: values.uri!,
          name: values.name,
          scopes: scopesOf(values.scope),
          scopeDescriptions: descriptions(values['scope-description']),
          accessTokenTtl: ttl(values['access-token-ttl']),
          signingAlg: values['signing-alg'],
          mayIntrospect: values['no-introspection'] !== true,
        });
        const view = {
          ...resourceView(resource),
          ...(credentials
            ? {
                introspection_credentials: {
                  client_id: credentials.clientId,
                  client_secret: credentials.clientSecret,
                  token_endpoint_auth_method: 'client_secret_basic',
                },
              }
            : {}),
        };
        const text = [
          `registered resource ${resource.name}`,
          `uri:    ${resource.uri}`,
          `scopes: ${resource.scopes.join(' ') || '(none)'}`,
          ...(credentials
            ? [
                'introspection credentials (client_secret_basic at /introspect):',
                `  client_id:     ${credentials.clientId}`,
                `  client_secret: ${credentials.clientSecret}`,
                '(the secret is shown only this once; store it now)',
              ]
            : ['no introspection credentials (--no-introspection)']),
        ].join('\n');
        print(values.json === true, view, text);
        return 0;
      } catch (e) {
        return failed(e);
      }
    });
  }
  if (sub === 'list') {
    const { values } = parseArgs({ args: rest, strict: true, options: common });
    if (values.help) return (process.stdout.write(HELP), 0);
    return withStorage(values.database, async (storage) => {
      const list = (await storage.resources.list()).map(resourceView);
      print(
        values.json === true,
        list,
        list.length === 0 ? 'no resources' : list.map((r) => `${String(r.uri)}\t${String(r.name)}\t${String(r.scope)}`).join('\n'),
      );
      return 0;
    });
  }
  if (sub === 'update') {
    const { values, positionals } = parseArgs({
      args: dashSafePositionals(rest),
      strict: true,
      allowPositionals: true,
      options: { ...fields, ...common },
    });
    if (values.help) return (process.stdout.write(HELP), 0);
    if (positionals.length !== 1) throw new UsageError('resources update needs exactly one URI');
    return withStorage(values.database, async (storage) => {
      try {
        const resource = await changeResource(cliAdminContext(storage, values.database), positionals[0]!, {
          name: values.name,
          scopes: scopesOf(values.scope),
          scopeDescriptions: descriptions(values['scope-description']),
          accessTokenTtl: ttl(values['access-token-ttl']),
          signingAlg: values['signing-alg'],
        });
        print(values.json === true, resource, `updated resource ${String(resource.uri)}`);
        return 0;
      } catch (e) {
        return failed(e);
      }
    });
  }
  if (sub === 'delete') {
    const { values, positionals } = parseArgs({ args: dashSafePositionals(rest), strict: true, allowPositionals: true, options: common });
    if (values.help) return (process.stdout.write(HELP), 0);
    if (positionals.length !== 1) throw new UsageError('resources delete needs exactly one URI');
    return withStorage(values.database, async (storage) => {
      try {
        await removeResource(cliAdminContext(storage, values.database), positionals[0]!);
      } catch (e) {
        if (!(e instanceof OAuthError && e.code === 'not_found')) throw e;
        process.stderr.write(`gatehouse: no resource ${positionals[0]} is registered\n`);
        return 1;
      }
      print(false, null, `deleted resource ${positionals[0]}`);
      return 0;
    });
  }
  throw new UsageError(`unknown resources command: ${sub}`);
}
