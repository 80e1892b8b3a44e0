// RFC 8707, RFC 9068 §4: the admin API is a protected resource of Gatehouse itself. Its URI is the
// `aud` its access tokens must carry and `admin` the scope they need; the user they name must have the
// admin role (checked on every request, oauth/admin/users.ts isAdmin).
import type { Config } from '../../config/config.js';
import type { ResourceStorage } from '../resources.js';
import { registerResource, ResourceError } from '../resources.js';

export const ADMIN_SCOPE = 'admin';

export function adminApiResourceUri(config: Pick<Config, 'issuer'>): string {
  return `${config.issuer}/admin/api`;
}

/**
 * Registers the admin API as a resource when it is not registered yet (every start; a node that
 * loses the race to another finds it registered). No introspection credentials: only Gatehouse
 * reads its tokens. An operator may edit its name, lifetime or descriptions; it must keep the scope.
 */
export async function ensureAdminApiResource(storage: ResourceStorage, config: Pick<Config, 'issuer'>, now: number): Promise<void> {
  const uri = adminApiResourceUri(config);
  if (await storage.resources.find(uri)) return;
  try {
    await registerResource(
      storage,
      {
        uri,
        name: 'Gatehouse admin API',
        scopes: [ADMIN_SCOPE],
        scopeDescriptions: { [ADMIN_SCOPE]: 'Administer Gatehouse: users, clients, resources, keys and the event log' },
        accessTokenTtl: 300,
        mayIntrospect: false,
      },
      now,
    );
  } catch (e) {
    if (!(e instanceof ResourceError) && !(await storage.resources.find(uri))) throw e;
  }
}
