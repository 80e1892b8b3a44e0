// gatehouse users create | list | disable | enable | delete | set-password | unlock
import { parseArgs } from 'node:util';
import { deleteUser, disableUser, enableUser, passwordProblem, setUserPassword, type LifecycleResult } from '../oauth/lifecycle.js';
import { canonicalUsername, type Storage, type User } from '../storage/index.js';
import { createUser, findUserByName, setAdmin } from '../oauth/admin/users.js';
import { OAuthError } from '../oauth/errors.js';
import { loadConfig } from '../config/config.js';
import { accountKey, DbThrottleStore, type ThrottleStore } from '../interaction/login-throttle.js';
import { redisOptions, SharedRedis } from '../redis/redis.js';
import { RedisThrottleStore } from '../redis/login-throttle-store.js';
import { cliAdminContext, cliEvents, dashSafePositionals, print, readStdin, refusedAsExit, UsageError, withStorage } from './common.js';
import { cliLifecycleDeps, LIFECYCLE_OPTIONS, lifecycleConfig, reportLifecycle } from './lifecycle-report.js';

const HELP = `gatehouse users — manage user accounts

  gatehouse users create --username NAME --password-stdin [--email E] [--name "Full Name"] [--admin] [--database URL] [--json]
      Reads the password from standard input (never from the command line). --admin gives the admin
      role: the user may use the admin console (/admin) and the admin API (/admin/api).
  gatehouse users set-admin USERNAME --on|--off [--database URL] [--json]
      Gives (--on) or takes (--off) the admin role; it takes effect at the user's next request.
  gatehouse users list [--database URL] [--json]
  gatehouse users disable USERNAME [--issuer URL] [--database URL] [--json]
      The user can no longer sign in, and everything of theirs is revoked at once: every session,
      refresh-token family, live access token (denied by id until it expires), unredeemed code and
      device code. Their grants (consents) stay for when they are enabled again.
  gatehouse users enable USERNAME [--database URL] [--json]
  gatehouse users delete USERNAME [--issuer URL] [--database URL] [--json]
      Revokes as disable does, deletes the user's grants, then the user.
  gatehouse users set-password USERNAME --password-stdin [--keep-sessions] [--issuer URL] [--database URL] [--json]
      Reads the new password from standard input and revokes as disable does (a reset after a
      compromise); --keep-sessions revokes nothing.
  Clients with a backchannel_logout_uri get a logout token; --issuer (or GATEHOUSE_ISSUER) is its iss.
  gatehouse users unlock USERNAME [--database URL] [--redis URL] [--json]
      Clears the account's sign-in delays, locks and known-device failure counts (DS-03) for every
      node: in Redis when --redis / GATEHOUSE_REDIS_URL is set, and in the database.
`;

const USERNAME = /^[A-Za-z0-9._@+-]{1,255}$/;
const EMAIL = /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/;

export async function usersCommand(args: string[]): Promise<number> {
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
        username: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        email: { type: 'string' },
        name: { type: 'string' },
        admin: { type: 'boolean' },
        database: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (!values.username) throw new UsageError('users create needs --username NAME');
    if (!USERNAME.test(values.username)) throw new UsageError('a username has 1 to 255 letters, digits or . _ @ + -');
    if (!values['password-stdin']) throw new UsageError('users create needs --password-stdin (the password is read from standard input)');
    if (values.email !== undefined && !EMAIL.test(values.email)) throw new UsageError(`not an email address: ${values.email}`);
    if (values.name !== undefined && (values.name.length === 0 || values.name.length > 255))
      throw new UsageError('--name must have 1 to 255 characters');
    const password = await readStdin();
    const problem = passwordProblem(password);
    if (problem) throw new UsageError(problem);
    return withStorage(values.database, async (storage) => {
      let view;
      try {
        view = await createUser(cliAdminContext(storage, values.database), {
          username: values.username!,
          password,
          email: values.email,
          name: values.name,
          admin: values.admin === true,
        });
      } catch (e) {
        if (e instanceof OAuthError && e.status === 409) {
          process.stderr.write(`gatehouse: a user named ${values.username} already exists\n`);
          return 1;
        }
        throw e;
      }
      const out = { id: view.id, username: view.username, email: view.email, name: view.name, admin: view.admin };
      print(values.json === true, out, `created user ${view.username} (id ${view.id})${view.admin ? ', an admin' : ''}`);
      return 0;
    });
  }
  if (sub === 'set-admin') return usersSetAdmin(rest);
  if (sub === 'unlock') return unlockUser(rest);
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
      const users = (await storage.users.list()).map((u) => ({
        id: u.id,
        username: u.username,
        email: u.email,
        name: u.name,
        disabled: u.disabled,
        admin: u.role === 'admin',
      }));
      print(
        values.json === true,
        users,
        users.length === 0 ? 'no users' : users.map((u) => `${u.username}\t${u.id}\t${u.email ?? ''}\t${u.name ?? ''}`).join('\n'),
      );
      return 0;
    });
  }
  if (sub === 'disable' || sub === 'enable' || sub === 'delete') return usersLifecycle(sub, rest);
  if (sub === 'set-password') return usersSetPassword(rest);
  throw new UsageError(`unknown users command: ${sub}`);
}

const LIFECYCLE_USER_OPTIONS = {
  ...LIFECYCLE_OPTIONS,
  'password-stdin': { type: 'boolean' },
  'keep-sessions': { type: 'boolean' },
} as const;

/** One USERNAME positional and the lifecycle options; prints help and returns undefined for --help. */
function lifecycleArgs(sub: string, rest: string[]) {
  const { values, positionals } = parseArgs({
    args: dashSafePositionals(rest),
    strict: true,
    allowPositionals: true,
    options: LIFECYCLE_USER_OPTIONS,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return undefined;
  }
  if (sub !== 'set-password' && (values['password-stdin'] !== undefined || values['keep-sessions'] !== undefined))
    throw new UsageError(`users ${sub} takes no --password-stdin or --keep-sessions`);
  if (sub === 'enable' && values.issuer !== undefined) throw new UsageError('users enable takes no --issuer');
  if (positionals.length !== 1) throw new UsageError(`users ${sub} needs exactly one USERNAME`);
  return { values, username: positionals[0]! };
}

/** Looks the user up by name, runs the action, sends logout tokens and prints the report. */
async function withUser(
  values: { issuer?: string | undefined; database?: string | undefined; json?: boolean | undefined },
  username: string,
  heading: (user: User) => string,
  action: (storage: Storage, user: User) => Promise<LifecycleResult | undefined>,
  countsInText = true,
): Promise<number> {
  const config = lifecycleConfig(values);
  return withStorage(values.database, async (storage) => {
    const user = await storage.users.findByUsername(username);
    const result = user && (await action(storage, user));
    if (!user || !result) {
      process.stderr.write(`gatehouse: no user named ${username}\n`);
      return 1;
    }
    await reportLifecycle(storage, config, result, {
      json: values.json === true,
      heading: heading(user),
      fields: { user: user.username },
      countsInText,
    });
    return 0;
  });
}

/** gatehouse users disable|enable|delete USERNAME (LC-01). */
async function usersLifecycle(sub: 'disable' | 'enable' | 'delete', rest: string[]): Promise<number> {
  const args = lifecycleArgs(sub, rest);
  if (!args) return 0;
  const action = { disable: disableUser, enable: enableUser, delete: deleteUser }[sub];
  const done = { disable: 'disabled', enable: 'enabled', delete: 'deleted' }[sub];
  return withUser(
    args.values,
    args.username,
    (user) => `${done} user ${user.username}${sub === 'enable' ? '' : ':'}`,
    (storage, user) => action(cliLifecycleDeps(storage), user.id),
    sub !== 'enable',
  );
}

/** gatehouse users set-password USERNAME --password-stdin [--keep-sessions] (LC-01). */
async function usersSetPassword(rest: string[]): Promise<number> {
  const args = lifecycleArgs('set-password', rest);
  if (!args) return 0;
  const values = args.values;
  if (!values['password-stdin'])
    throw new UsageError('users set-password needs --password-stdin (the password is read from standard input)');
  const password = await readStdin();
  const problem = passwordProblem(password);
  if (problem) throw new UsageError(problem);
  return withUser(
    values,
    args.username,
    (user) => `set the password of ${user.username}${values['keep-sessions'] ? ' (nothing revoked)' : ' and revoked:'}`,
    (storage, user) =>
      setUserPassword(cliLifecycleDeps(storage), user.id, password, { signOut: values['keep-sessions'] ? 'nowhere' : 'everywhere' }),
    !values['keep-sessions'],
  );
}

/**
 * gatehouse users unlock USERNAME: forgets every login throttle entry of the account (its delay, its
 * per-network locks, its known devices' failures) where the running nodes keep them — Redis when
 * configured, the database otherwise (both are cleared) — and records `login.unlocked`. Locks of an
 * IP across accounts are not the account's and stay.
 */
async function unlockUser(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: dashSafePositionals(args),
    strict: true,
    allowPositionals: true,
    options: {
      database: { type: 'string' },
      redis: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0]!.length === 0) throw new UsageError('users unlock needs one USERNAME');
  const username = positionals[0]!;
  const config = loadConfig(process.env, values.redis === undefined ? {} : { redis: values.redis });
  return withStorage(values.database, async (storage) => {
    const stores: ThrottleStore[] = [new DbThrottleStore(storage.loginLocks)];
    const redis = config.redisUrl ? new SharedRedis(redisOptions(config.redisUrl, Math.max(config.redisCommandTimeout, 2000))) : undefined;
    try {
      if (redis) {
        await redis.client.connect();
        stores.push(new RedisThrottleStore(redis));
      }
      let cleared = 0;
      for (const store of stores) cleared += await store.clearAccount(accountKey(username));
      const user = (await storage.users.findByUsername(username)) ?? (await storage.users.findByUsername(canonicalUsername(username)));
      await cliEvents(storage).record({
        type: 'login.unlocked',
        userId: user?.id,
        username: canonicalUsername(username),
        details: { entries: cleared, by: 'cli' },
      });
      print(values.json === true, { username, cleared }, `unlocked ${username} (${cleared} throttle entries cleared)`);
      return 0;
    } finally {
      await redis?.close();
    }
  });
}

/** gatehouse users set-admin USERNAME --on|--off: the admin role (oauth/admin/users.ts setAdmin). */
async function usersSetAdmin(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: dashSafePositionals(args),
    strict: true,
    allowPositionals: true,
    options: {
      on: { type: 'boolean' },
      off: { type: 'boolean' },
      database: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('users set-admin needs exactly one USERNAME');
  if (values.on === values.off) throw new UsageError('users set-admin needs exactly one of --on and --off');
  return withStorage(values.database, (storage) =>
    refusedAsExit(async () => {
      const ctx = cliAdminContext(storage, values.database);
      const user = await findUserByName(ctx, positionals[0]!);
      const view = await setAdmin(ctx, user.id, values.on === true);
      print(
        values.json === true,
        { username: view.username, admin: view.admin },
        `${view.username} ${view.admin ? 'is an admin' : 'is not an admin'}`,
      );
      return 0;
    }),
  );
}
