// The TypeBox schemas of the admin API: the request validation and the OpenAPI 3.1 document
// (openapi.ts) both come from these, so they cannot disagree.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { OAuthError } from '../../oauth/errors.js';

const Id = Type.String({ minLength: 1, maxLength: 255 });
const Text = (maxLength: number) => Type.String({ minLength: 1, maxLength });
const Uri = Type.String({ minLength: 1, maxLength: 2000 });
const Uris = Type.Array(Uri, { maxItems: 50 });
const closed = { additionalProperties: false } as const;

export const UserIdParams = Type.Object({ id: Id }, closed);
export const SessionParams = Type.Object({ id: Id, sid: Id }, closed);
export const GrantParams = Type.Object({ id: Id, client_id: Id }, closed);
export const ClientIdParams = Type.Object({ client_id: Id }, closed);
export const KidParams = Type.Object({ kid: Id }, closed);

export const UserQuery = Type.Object({ q: Type.Optional(Type.String({ maxLength: 255 })) }, closed);
export const ResourceQuery = Type.Object({ uri: Uri }, closed);
export const EventQuery = Type.Object(
  {
    since: Type.Optional(Type.String({ pattern: '^[0-9]{1,12}$', description: 'epoch seconds' })),
    type: Type.Optional(Type.String({ maxLength: 500, description: 'comma-separated types or subjects (login, admin.role_granted)' })),
    user_id: Type.Optional(Id),
    client_id: Type.Optional(Id),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,5}$', description: '1 to 10000, default 100' })),
  },
  closed,
);

export const NewUserBody = Type.Object(
  {
    username: Text(255),
    password: Text(1024),
    email: Type.Optional(Text(255)),
    name: Type.Optional(Text(255)),
    admin: Type.Optional(Type.Boolean()),
  },
  closed,
);
export const PasswordBody = Type.Object(
  { password: Text(1024), keep_sessions: Type.Optional(Type.Boolean({ description: 'revoke nothing (default false)' })) },
  closed,
);
export const RoleBody = Type.Object({ admin: Type.Boolean() }, closed);

export const NewClientBody = Type.Object(
  {
    client_name: Text(200),
    redirect_uris: Type.Optional(Uris),
    grant_types: Type.Optional(Type.Array(Text(100), { maxItems: 10 })),
    scope: Type.Optional(Type.String({ maxLength: 2000 })),
    token_endpoint_auth_method: Type.Optional(Text(50)),
    jwks_uri: Type.Optional(Uri),
    post_logout_redirect_uris: Type.Optional(Uris),
    backchannel_logout_uri: Type.Optional(Uri),
    default_scope: Type.Optional(Type.String({ maxLength: 2000 })),
    require_pushed_authorization_requests: Type.Optional(Type.Boolean()),
  },
  closed,
);
export const ClientChangesBody = Type.Object(
  { client_name: Type.Optional(Text(200)), redirect_uris: Type.Optional(Uris), scope: Type.Optional(Type.String({ maxLength: 2000 })) },
  { ...closed, minProperties: 1 },
);

const ScopeDescriptions = Type.Record(Type.String({ maxLength: 200 }), Type.String({ maxLength: 200 }));
export const NewResourceBody = Type.Object(
  {
    uri: Uri,
    name: Type.Optional(Text(200)),
    scope: Type.Optional(Type.String({ maxLength: 2000 })),
    scope_descriptions: Type.Optional(ScopeDescriptions),
    access_token_ttl: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
    signing_alg: Type.Optional(Text(20)),
    introspection: Type.Optional(Type.Boolean({ description: 'issue introspection credentials (default true)' })),
  },
  closed,
);
export const ResourceChangesBody = Type.Object(
  {
    name: Type.Optional(Text(200)),
    scope: Type.Optional(Type.String({ maxLength: 2000 })),
    scope_descriptions: Type.Optional(ScopeDescriptions),
    access_token_ttl: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 86400 }), Type.Null()])),
    signing_alg: Type.Optional(Text(20)),
  },
  { ...closed, minProperties: 1 },
);
export const RotateKeysBody = Type.Object(
  { alg: Type.Optional(Text(20)), immediate: Type.Optional(Type.Boolean({ description: 'sign with the new key at once (emergency)' })) },
  closed,
);
export const RetireKeyBody = Type.Object({ keep_published: Type.Optional(Type.Boolean()) }, closed);

export type { Static };

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

/** Checks `value` against `schema`; a mismatch is 400 invalid_request naming the first offending field. */
export function validated<S extends TSchema>(schema: S, value: unknown, where: string): Static<S> {
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  if (check.Check(value)) return value as Static<S>;
  const first = check.Errors(value).First();
  const field = first?.path ? first.path.replace(/^\//, '').replace(/\//g, '.') : '';
  throw new OAuthError('invalid_request', `${where}${field ? ` field ${field}` : ''}: ${first?.message ?? 'invalid'}`);
}

/** Routes without query parameters refuse any. */
export const EmptyQuery = Type.Object({}, closed);
