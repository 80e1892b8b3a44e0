// gatehouse grants list | revoke — a user's consents to clients (oauth/lifecycle.ts).
import { parseArgs } from 'node:util';
import { listGrants, revokeGrant } from '../oauth/lifecycle.js';
import { print, UsageError, withStorage } from './common.js';
import { cliLifecycleDeps, LIFECYCLE_OPTIONS, lifecycleConfig, reportLifecycle } from './lifecycle-report.js';

const HELP = `gatehouse grants — what users allowed clients (consents)

  gatehouse grants list --user USERNAME [--client CLIENT_ID] [--database URL] [--json]
      One line per grant: client id, client name, scope, when it was given and last widened.
  gatehouse grants revoke --user USERNAME [--client CLIENT_ID] [--issuer URL] [--database URL] [--json]
      Deletes the user's grant to that client (to every client without --client) and revokes what the
      client holds of the user: refresh-token families, live access tokens (denied by id until they
      expire), unredeemed codes and device codes. The user's sessions here stay. Clients with a
      backchannel_logout_uri get a logout token; --issuer (or GATEHOUSE_ISSUER) is its iss.
`;

const OPTIONS = { user: { type: 'string' }, client: { type: 'string' }, ...LIFECYCLE_OPTIONS } as const;

export async function grantsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'list' && sub !== 'revoke') throw new UsageError(`unknown grants command: ${sub}`);
  const { values } = parseArgs({ args: rest, strict: true, options: OPTIONS });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.user) throw new UsageError(`grants ${sub} needs --user USERNAME`);
  if (sub === 'list' && values.issuer !== undefined) throw new UsageError('grants list takes no --issuer');
  const config = sub === 'revoke' ? lifecycleConfig(values) : undefined;
  return withStorage(values.database, async (storage) => {
    const user = await storage.users.findByUsername(values.user!);
    if (!user) {
      process.stderr.write(`gatehouse: no user named ${values.user}\n`);
      return 1;
    }
    if (sub === 'list') {
      const grants = (await listGrants(storage, user.id, values.client)).map((g) => ({
        client_id: g.clientId,
        client_name: g.clientName,
        scope: g.scopes.join(' '),
        created_at: g.createdAt,
        updated_at: g.updatedAt,
      }));
      const iso = (s: number) => new Date(s * 1000).toISOString();
      print(
        values.json === true,
        grants,
        grants.length === 0
          ? `no grants of ${user.username}`
          : grants
              .map((g) => `${g.client_id}\t${g.client_name ?? '(deleted client)'}\t${g.scope}\t${iso(g.created_at)}\t${iso(g.updated_at)}`)
              .join('\n'),
      );
      return 0;
    }
    if (
      values.client !== undefined &&
      !(await storage.clients.find(values.client)) &&
      (await listGrants(storage, user.id, values.client)).length === 0
    ) {
      process.stderr.write(`gatehouse: no client with id ${values.client}\n`);
      return 1;
    }
    const result = (await revokeGrant(cliLifecycleDeps(storage), user.id, values.client))!;
    await reportLifecycle(storage, config!, result, {
      json: values.json === true,
      heading: `revoked the grants of ${user.username}${values.client !== undefined ? ` to ${values.client}` : ''}:`,
      fields: { user: user.username, client: values.client ?? null },
    });
    return 0;
  });
}
