// Schema migrations, applied in order on start (Kysely's Migrator keeps its own bookkeeping tables
// and takes a lock, so several nodes starting at once migrate once).
import { type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { canonicalUsername } from './repositories/users.js';

const initial: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('clients')
      .addColumn('client_id', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('client_secret_hash', 'varchar(64)')
      .addColumn('client_name', 'varchar(255)', (c) => c.notNull())
      .addColumn('redirect_uris', 'text', (c) => c.notNull())
      .addColumn('grant_types', 'text', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('token_endpoint_auth_method', 'varchar(64)', (c) => c.notNull())
      .addColumn('is_public', 'integer', (c) => c.notNull())
      .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('users')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('username', 'varchar(255)', (c) => c.notNull().unique())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('email', 'varchar(320)')
      .addColumn('name', 'varchar(255)')
      .addColumn('claims', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('authorization_codes')
      .addColumn('code_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('family_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('client_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('redirect_uri', 'text', (c) => c.notNull())
      .addColumn('redirect_uri_provided', 'integer', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('code_challenge', 'varchar(128)')
      .addColumn('code_challenge_method', 'varchar(16)')
      .addColumn('nonce', 'text')
      .addColumn('auth_time', 'bigint', (c) => c.notNull())
      .addColumn('sid', 'varchar(64)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('consumed_at', 'bigint')
      .addColumn('access_token_jti', 'varchar(64)')
      .addColumn('access_token_expires_at', 'bigint')
      .execute();
    await db.schema.createIndex('authorization_codes_expires_at').on('authorization_codes').column('expires_at').execute();

    await db.schema
      .createTable('refresh_tokens')
      .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('family_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('client_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('auth_time', 'bigint', (c) => c.notNull())
      .addColumn('sid', 'varchar(64)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('idle_expires_at', 'bigint', (c) => c.notNull())
      .addColumn('rotated_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .addColumn('access_token_jti', 'varchar(64)')
      .addColumn('access_token_expires_at', 'bigint')
      .execute();
    await db.schema.createIndex('refresh_tokens_family_id').on('refresh_tokens').column('family_id').execute();
    await db.schema.createIndex('refresh_tokens_user_client').on('refresh_tokens').columns(['user_id', 'client_id']).execute();
    await db.schema.createIndex('refresh_tokens_expires_at').on('refresh_tokens').column('expires_at').execute();

    await db.schema
      .createTable('revoked_access_tokens')
      .addColumn('jti', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('revoked_access_tokens_expires_at').on('revoked_access_tokens').column('expires_at').execute();

    await db.schema
      .createTable('grants')
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('client_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('grants_pk', ['user_id', 'client_id'])
      .execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('sid', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('auth_time', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute();

    await db.schema
      .createTable('interactions')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('client_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('params', 'text', (c) => c.notNull())
      .addColumn('browser_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(64)')
      .addColumn('auth_time', 'bigint')
      .addColumn('sid', 'varchar(64)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('consumed_at', 'bigint')
      .execute();

    await db.schema
      .createTable('signing_keys')
      .addColumn('kid', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('alg', 'varchar(16)', (c) => c.notNull())
      .addColumn('use', 'varchar(8)', (c) => c.notNull())
      .addColumn('private_jwk', 'text', (c) => c.notNull())
      .addColumn('public_jwk', 'text', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('activated_at', 'bigint')
      .addColumn('retired_at', 'bigint')
      .addColumn('remove_after', 'bigint')
      .execute();
  },
  async down(db: Kysely<any>) {
    for (const table of [
      'signing_keys',
      'interactions',
      'sessions',
      'grants',
      'revoked_access_tokens',
      'refresh_tokens',
      'authorization_codes',
      'users',
      'clients',
    ]) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};

/** RFC 7591 / RFC 7592: initial access tokens, and the registration access token of a client. */
const dynamicRegistration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('clients').addColumn('registration_access_token_hash', 'varchar(64)').execute();
    await db.schema
      .createTable('registration_tokens')
      .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('uses_left', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('registration_tokens_expires_at').on('registration_tokens').column('expires_at').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('registration_tokens').ifExists().execute();
    await db.schema.alterTable('clients').dropColumn('registration_access_token_hash').execute();
  },
};

/** RFC 8707: registered resources, and the resources codes and refresh tokens were authorized for. */
const resources: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('resources')
      .addColumn('uri', 'varchar(2000)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('scope_descriptions', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('access_token_ttl', 'bigint')
      .addColumn('signing_alg', 'varchar(16)', (c) => c.notNull())
      .addColumn('may_introspect', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('introspection_client_id', 'varchar(255)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('resources_introspection_client_id').on('resources').column('introspection_client_id').execute();
    await db.schema
      .alterTable('authorization_codes')
      .addColumn('resources', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
    await db.schema
      .alterTable('refresh_tokens')
      .addColumn('resources', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('refresh_tokens').dropColumn('resources').execute();
    await db.schema.alterTable('authorization_codes').dropColumn('resources').execute();
    await db.schema.dropTable('resources').ifExists().execute();
  },
};

/** The refresh grace window (RG-01): what a replay of a just-rotated refresh token gets back. */
const refreshGrace: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('refresh_tokens').addColumn('successor_hash', 'varchar(64)').execute();
    await db.schema.alterTable('refresh_tokens').addColumn('successor_response', 'text').execute();
    await db.schema.alterTable('refresh_tokens').addColumn('successor_expires_at', 'bigint').execute();
    await db.schema.createIndex('refresh_tokens_successor_expires_at').on('refresh_tokens').column('successor_expires_at').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('refresh_tokens_successor_expires_at').ifExists().execute();
    for (const column of ['successor_expires_at', 'successor_response', 'successor_hash']) {
      await db.schema.alterTable('refresh_tokens').dropColumn(column).execute();
    }
  },
};

// RFC 8628: device authorization requests. The user code's digest is unique among all rows (a new
// code that collides is drawn again); expires_at serves the sweep.
const deviceCodes: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('device_codes')
      .addColumn('device_code_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_code_hash', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('client_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(64)')
      .addColumn('auth_time', 'bigint')
      .addColumn('sid', 'varchar(64)')
      .addColumn('poll_interval', 'integer', (c) => c.notNull())
      .addColumn('last_polled_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('decided_at', 'bigint')
      .addColumn('consumed_at', 'bigint')
      .addColumn('family_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('access_token_jti', 'varchar(64)')
      .addColumn('access_token_expires_at', 'bigint')
      .execute();
    await db.schema.createIndex('device_codes_expires_at').on('device_codes').column('expires_at').execute();
    await db.schema.createIndex('device_codes_user_id').on('device_codes').column('user_id').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('device_codes').ifExists().execute();
  },
};

/** RFC 7523 §3 item 7: the jti of every accepted client assertion, until the assertion expires. */
const clientAssertionJtis: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('client_assertion_jtis')
      .addColumn('jti_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('client_assertion_jtis_expires_at').on('client_assertion_jtis').column('expires_at').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('client_assertion_jtis').ifExists().execute();
  },
};

/** RFC 9126 §2.2: pushed authorization requests, until used once or expired. */
const pushedRequests: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('pushed_requests')
      .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('client_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('params', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('consumed_at', 'bigint')
      .execute();
    await db.schema.createIndex('pushed_requests_expires_at').on('pushed_requests').column('expires_at').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('pushed_requests').ifExists().execute();
  },
};

/** One table of security events (logins, locks, reuse detected, lifecycle actions), swept by age. */
const securityEvents: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('security_events')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('type', 'varchar(64)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('user_id', 'varchar(255)')
      .addColumn('username', 'varchar(255)')
      .addColumn('client_id', 'varchar(255)')
      .addColumn('ip', 'varchar(64)')
      .addColumn('details', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('security_events_created_at').on('security_events').column('created_at').execute();
    await db.schema.createIndex('security_events_type_created_at').on('security_events').columns(['type', 'created_at']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('security_events').ifExists().execute();
  },
};

/**
 * Lifecycle actions (oauth/lifecycle.ts) find tokens, codes and grants by client, and codes by user:
 * indexes so that deleting a client or a user does not scan the tables.
 */
const lifecycle: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createIndex('authorization_codes_user_id').on('authorization_codes').columns(['user_id', 'sid']).execute();
    await db.schema.createIndex('authorization_codes_client_id').on('authorization_codes').column('client_id').execute();
    await db.schema.createIndex('refresh_tokens_client_id').on('refresh_tokens').column('client_id').execute();
    await db.schema.createIndex('device_codes_client_id').on('device_codes').column('client_id').execute();
    await db.schema.createIndex('grants_client_id').on('grants').column('client_id').execute();
  },
  async down(db: Kysely<any>) {
    for (const name of [
      'authorization_codes_user_id',
      'authorization_codes_client_id',
      'refresh_tokens_client_id',
      'device_codes_client_id',
      'grants_client_id',
    ])
      await db.schema.dropIndex(name).ifExists().execute();
  },
};

/**
 * UN-01: a unique canonical form of every username (NFKC + lower case, computed here because SQL has
 * no NFKC). Existing usernames that collide in that form are not merged or renamed silently: the
 * migration fails before it changes anything, naming them, and the operator renames or deletes all but
 * one of each group (README "Usernames").
 */
const canonicalUsernames: Migration = {
  async up(db: Kysely<any>) {
    const rows = (await db.selectFrom('users').select(['id', 'username']).orderBy('username').execute()) as {
      id: string;
      username: string;
    }[];
    const groups = new Map<string, { id: string; username: string }[]>();
    for (const row of rows) {
      const key = canonicalUsername(row.username);
      groups.set(key, [...(groups.get(key) ?? []), row]);
    }
    const collisions = [...groups].filter(([, users]) => users.length > 1);
    if (collisions.length > 0) {
      const list = collisions
        .map(
          ([key, users]) => `${users.map((u) => `${JSON.stringify(u.username)} (id ${u.id})`).join(', ')} are all ${JSON.stringify(key)}`,
        )
        .join('; ');
      throw new Error(
        `usernames must be unique once canonicalised (NFKC, lower case), and these are not: ${list}. ` +
          "Rename or delete all but one user of each group (e.g. UPDATE users SET username = 'alice-2' WHERE id = '…'), then start again; nothing was changed",
      );
    }
    await db.schema.alterTable('users').addColumn('username_canonical', 'text').execute();
    for (const row of rows) {
      await db
        .updateTable('users')
        .set({ username_canonical: canonicalUsername(row.username) })
        .where('id', '=', row.id)
        .execute();
    }
    await db.schema.createIndex('users_username_canonical').on('users').column('username_canonical').unique().execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('users_username_canonical').ifExists().execute();
    await db.schema.alterTable('users').dropColumn('username_canonical').execute();
  },
};

// RFC 9449: DPoP. Codes (dpop_jkt at /authorize) and refresh tokens of public clients remember the key
// thumbprint they are bound to; proof jtis are remembered across nodes until the proof is stale; one
// row holds the HMAC key of server-provided nonces, so that every node mints and accepts the same ones.
const dpop: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('authorization_codes').addColumn('dpop_jkt', 'varchar(64)').execute();
    await db.schema.alterTable('refresh_tokens').addColumn('dpop_jkt', 'varchar(64)').execute();
    await db.schema
      .createTable('dpop_jtis')
      .addColumn('jti_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('dpop_jtis_expires_at').on('dpop_jtis').column('expires_at').execute();
    await db.schema
      .createTable('dpop_nonce_keys')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('secret', 'varchar(128)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('dpop_nonce_keys').ifExists().execute();
    await db.schema.dropTable('dpop_jtis').ifExists().execute();
    await db.schema.alterTable('refresh_tokens').dropColumn('dpop_jkt').execute();
    await db.schema.alterTable('authorization_codes').dropColumn('dpop_jkt').execute();
  },
};

/** RFC 8707 at the device authorization endpoint: the resources a device code was authorized for. */
const deviceResources: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .alterTable('device_codes')
      .addColumn('resources', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('device_codes').dropColumn('resources').execute();
  },
};

/** DS-03: login throttle state (per account, account and network, known device, IP), when there is no Redis. */
const loginLocks: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('login_locks')
      .addColumn('key', 'varchar(160)', (c) => c.primaryKey())
      .addColumn('account', 'varchar(64)')
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('login_locks_account').on('login_locks').column('account').execute();
    await db.schema.createIndex('login_locks_expires_at').on('login_locks').column('expires_at').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('login_locks').ifExists().execute();
  },
};

/**
 * The account pages: an interaction may be a sign-in to the account (purpose 'account', no client, no
 * request; return_to is where it leads), and a grant remembers when a token was last issued for it.
 */
const account: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('interactions').addColumn('purpose', 'varchar(16)').execute();
    await db.schema.alterTable('interactions').addColumn('return_to', 'varchar(512)').execute();
    await db.schema.alterTable('grants').addColumn('last_used_at', 'bigint').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('grants').dropColumn('last_used_at').execute();
    await db.schema.alterTable('interactions').dropColumn('return_to').execute();
    await db.schema.alterTable('interactions').dropColumn('purpose').execute();
  },
};

/**
 * Two-factor sign-in: TOTP credentials (the secret sealed under the KEK, KP-01), recovery codes (SHA-256
 * digests), passkeys (WebAuthn public keys and counters), WebAuthn challenges (digests, single use), and
 * how a session, an interaction in progress, a code and a refresh family were authenticated (amr, acr).
 */
const twoFactor: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('totp_credentials')
      .addColumn('user_id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('confirmed_at', 'bigint')
      .addColumn('last_used_step', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('recovery_codes')
      .addColumn('code_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
    await db.schema.createIndex('recovery_codes_user_id').on('recovery_codes').column('user_id').execute();
    await db.schema
      .createTable('passkeys')
      .addColumn('credential_id', 'varchar(1400)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('name', 'varchar(100)', (c) => c.notNull())
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('counter', 'bigint', (c) => c.notNull())
      .addColumn('transports', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .execute();
    await db.schema.createIndex('passkeys_user_id').on('passkeys').column('user_id').execute();
    await db.schema
      .createTable('webauthn_challenges')
      .addColumn('challenge_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('purpose', 'varchar(32)', (c) => c.notNull())
      .addColumn('binding_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(64)')
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('webauthn_challenges_expires_at').on('webauthn_challenges').column('expires_at').execute();
    // One column per statement: SQLite adds one column per ALTER TABLE.
    await db.schema.alterTable('sessions').addColumn('amr', 'varchar(100)').execute();
    await db.schema.alterTable('sessions').addColumn('acr', 'varchar(100)').execute();
    await db.schema.alterTable('interactions').addColumn('pending_user_id', 'varchar(64)').execute();
    await db.schema.alterTable('interactions').addColumn('pending_amr', 'varchar(100)').execute();
    await db.schema.alterTable('authorization_codes').addColumn('amr', 'varchar(100)').execute();
    await db.schema.alterTable('authorization_codes').addColumn('acr', 'varchar(100)').execute();
    await db.schema.alterTable('refresh_tokens').addColumn('amr', 'varchar(100)').execute();
    await db.schema.alterTable('refresh_tokens').addColumn('acr', 'varchar(100)').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('refresh_tokens').dropColumn('acr').execute();
    await db.schema.alterTable('refresh_tokens').dropColumn('amr').execute();
    await db.schema.alterTable('authorization_codes').dropColumn('acr').execute();
    await db.schema.alterTable('authorization_codes').dropColumn('amr').execute();
    await db.schema.alterTable('interactions').dropColumn('pending_amr').execute();
    await db.schema.alterTable('interactions').dropColumn('pending_user_id').execute();
    await db.schema.alterTable('sessions').dropColumn('acr').execute();
    await db.schema.alterTable('sessions').dropColumn('amr').execute();
    await db.schema.dropTable('webauthn_challenges').ifExists().execute();
    await db.schema.dropTable('passkeys').ifExists().execute();
    await db.schema.dropTable('recovery_codes').ifExists().execute();
    await db.schema.dropTable('totp_credentials').ifExists().execute();
  },
};

/** The admin API and console: users' role, and clients an operator disabled. */
const admin: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('users').addColumn('role', 'varchar(16)').execute();
    await db.schema
      .alterTable('clients')
      .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('clients').dropColumn('disabled').execute();
    await db.schema.alterTable('users').dropColumn('role').execute();
  },
};

export const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_device_codes': deviceCodes,
  '0003_client_assertion_jtis': clientAssertionJtis,
  '0004_pushed_requests': pushedRequests,
  '0005_dynamic_registration': dynamicRegistration,
  '0006_resources': resources,
  '0007_refresh_grace': refreshGrace,
  '0008_security_events': securityEvents,
  '0010_dpop': dpop,
  '0012_lifecycle': lifecycle,
  '0013_canonical_usernames': canonicalUsernames,
  '0018_device_resources': deviceResources,
  '0015_login_locks': loginLocks,
  '0019_account': account,
  '0020_two_factor': twoFactor,
  '0021_admin': admin,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
