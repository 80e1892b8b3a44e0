// OpenAPI 3.1 (its Schema Object is JSON Schema 2020-12, which TypeBox schemas are) for the admin API,
// generated from the route table of api.ts: the same schemas validate the requests.
import type { TObject, TSchema } from '@sinclair/typebox';
import type { Config } from '../../config/config.js';
import { ADMIN_SCOPE } from '../../oauth/admin/api-resource.js';
import type { AdminRoute } from './api.js';

/** A schema as plain JSON (TypeBox's symbol keys dropped). */
const plain = (schema: TSchema): Record<string, unknown> => JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;

/** `/users/:id` → `/users/{id}`. */
export function openApiPath(prefix: string, path: string): string {
  return `${prefix}${path}`.replace(/:([A-Za-z_]+)/g, '{$1}');
}

function parameters(where: 'path' | 'query', schema: TObject | undefined): Record<string, unknown>[] {
  if (!schema) return [];
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    schema: plain(s as TSchema),
  }));
}

const ERROR = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'string' }, error_description: { type: 'string' } },
};

export function openApiDocument(
  routes: readonly AdminRoute[],
  config: Pick<Config, 'issuer'>,
  prefix = '/admin/api',
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openApiPath(prefix, route.path);
    const errors = (codes: number[]) =>
      Object.fromEntries(
        codes.map((c) => [
          String(c),
          { description: String(c), content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        ]),
      );
    (paths[path] ??= {})[route.method.toLowerCase()] = {
      operationId: `${route.method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: route.summary,
      tags: [route.tag],
      security: [{ bearer: [ADMIN_SCOPE] }],
      parameters: [...parameters('path', route.params), ...parameters('query', route.query)],
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: plain(route.body) } } } } : {}),
      responses: {
        [String(route.status ?? 200)]: { description: 'done', content: { 'application/json': { schema: { type: 'object' } } } },
        ...errors([400, 401, 403, 404, 409]),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse admin API',
      version: '1',
      description: `Bearer access tokens of this server with aud ${config.issuer}${prefix}, scope ${ADMIN_SCOPE}, for a user with the admin role.`,
    },
    servers: [{ url: config.issuer }],
    paths,
    components: {
      schemas: { Error: ERROR },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}
