// gatehouse keys list | rotate | retire — the signing keys (oauth/keys/rotation.ts has the rules).
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { nowSeconds } from '../oauth/crypto.js';
import { SUPPORTED_SIGNING_ALGS } from '../oauth/keys/key-store.js';
import { isSigningAlg, keyPolicy } from '../oauth/keys/rotation.js';
import { keyView, retireSigningKey, rotateSigningKeys, type KeyView } from '../oauth/admin/keys.js';
import { openStorage } from '../storage/index.js';
import { AtRest } from '../oauth/at-rest.js';
import { UsageError, cliAdminContext, dashSafePositionals, print, refusedAsExit, withStorage } from './common.js';

const HELP = `gatehouse keys — signing keys (published in the JWKS at /jwks)

  gatehouse keys list [--database URL] [--json]
      Every key with its algorithm, status (next, active, retired) and times. Private keys are never printed.
  gatehouse keys rotate [--alg ${SUPPORTED_SIGNING_ALGS.join('|')}|all] [--immediate] [--database URL] [--json]
      Starts a two-phase rotation (default: all algorithms): a new key is published at once with status
      \`next\`; a running server promotes it to \`active\` once it has been published for the JWKS max-age
      plus the key reload interval (6 minutes), and the previous key becomes \`retired\`: it signs nothing
      and stays in the JWKS until every token it signed has expired (the longest token lifetime + 5 min).
      --immediate (emergency): the new key (or the pending \`next\` key) signs at once.
  gatehouse keys retire KID [--keep-published] [--database URL] [--json]
      Stops a key from signing at once, e.g. a compromised key. An active key can be retired only while
      another active key of its algorithm exists (\`keys rotate --alg ALG --immediate\` makes one).
      The key also leaves the JWKS at once, so tokens it signed stop verifying; with --keep-published it
      stays published until the tokens it signed have expired.

  gatehouse keys rewrap [--database URL] [--json]
      KP-01: seals every private key, and the DPoP nonce key, under the current key-encryption key
      (GATEHOUSE_KEY_ENCRYPTION_KEY or --key-encryption-key-file): keys still in plaintext, and keys sealed under the previous key
      (GATEHOUSE_KEY_ENCRYPTION_KEY_PREVIOUS or --key-encryption-key-previous-file). Run it after every
      node has the new key; then the previous key can be removed.

Token lifetimes come from GATEHOUSE_ACCESS_TOKEN_TTL and GATEHOUSE_ID_TOKEN_TTL (as for \`serve\`).
Every node of a cluster picks up key changes within a minute.
`;

function iso(seconds: number | null): string {
  return seconds === null ? '-' : new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

type View = KeyView;

function note(v: View): string {
  if (v.status === 'next') return `published; signs from ${iso(v.promotes_after ?? null)}`;
  if (v.status === 'active') return v.signing ? 'signing' : 'active (a newer active key signs)';
  return v.published ? `published until ${iso(v.remove_after)}` : 'no longer published';
}

function table(views: View[]): string {
  if (views.length === 0) return 'no signing keys (a server creates them on its first start)';
  const header = ['KID', 'ALG', 'STATUS', 'CREATED', 'ACTIVATED', 'RETIRED', 'REMOVE AFTER', 'NOTE'];
  const lines = views.map((v) => [
    v.kid,
    v.alg,
    v.status,
    iso(v.created_at),
    iso(v.activated_at),
    iso(v.retired_at),
    iso(v.remove_after),
    note(v),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [header, ...lines].map((l) => l.map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

function configFor(database: string | undefined) {
  return loadConfig(process.env, database === undefined ? {} : { database });
}

export async function keysCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
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
    const policy = keyPolicy(configFor(values.database));
    return withStorage(values.database, async (storage) => {
      const now = nowSeconds();
      const rows = await storage.signingKeys.list();
      const views = rows.map((r) => keyView(r, rows, policy, now));
      print(values.json === true, views, table(views));
      return 0;
    });
  }
  if (sub === 'rotate') {
    const { values } = parseArgs({
      args: rest,
      strict: true,
      options: {
        alg: { type: 'string' },
        immediate: { type: 'boolean' },
        database: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const alg = values.alg ?? 'all';
    if (alg !== 'all' && !isSigningAlg(alg)) throw new UsageError(`--alg must be one of ${SUPPORTED_SIGNING_ALGS.join(', ')} or all`);
    return withStorage(values.database, (storage) =>
      refusedAsExit(async () => {
        const outcomes = await rotateSigningKeys(cliAdminContext(storage, values.database), alg, values.immediate === true);
        const text = outcomes.map((o) => {
          if (o.action === 'promoted')
            return `${o.alg}: ${o.kid} signs from now on; the previous key is retired and stays published until the tokens it signed expire`;
          const verb = o.action === 'created' ? 'new key' : 'a rotation is already pending:';
          return `${o.alg}: ${verb} ${o.kid} is published now and signs from ${iso(o.promotesAt ?? null)} (promoted by a running server)`;
        });
        const json = outcomes.map((o) => ({
          alg: o.alg,
          kid: o.kid,
          action: o.action,
          ...(o.promotesAt !== undefined ? { promotes_at: o.promotesAt } : {}),
        }));
        print(values.json === true, json, text.join('\n'));
        return 0;
      }),
    );
  }
  if (sub === 'retire') {
    const { values, positionals } = parseArgs({
      args: dashSafePositionals(rest),
      strict: true,
      allowPositionals: true,
      options: {
        'keep-published': { type: 'boolean' },
        database: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('keys retire needs exactly one KID');
    const kid = positionals[0]!;
    return withStorage(values.database, (storage) =>
      refusedAsExit(async () => {
        const ctx = cliAdminContext(storage, values.database);
        const outcome = await retireSigningKey(ctx, kid, values['keep-published'] === true);
        const when = outcome.removeAfter <= ctx.now ? 'has left the JWKS' : `stays in the JWKS until ${iso(outcome.removeAfter)}`;
        const text =
          outcome.previousStatus === 'retired'
            ? `${kid} was already retired; it ${when}`
            : `retired ${outcome.row.alg} key ${kid} (was ${outcome.previousStatus}); it signs nothing and ${when}. Every node applies this within a minute.`;
        print(
          values.json === true,
          { kid, alg: outcome.row.alg, previous_status: outcome.previousStatus, status: 'retired', remove_after: outcome.removeAfter },
          text,
        );
        return 0;
      }),
    );
  }
  if (sub === 'rewrap') {
    const { values } = parseArgs({
      args: rest,
      strict: true,
      options: {
        database: { type: 'string' },
        'key-encryption-key-file': { type: 'string' },
        'key-encryption-key-previous-file': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const flags: Record<string, string> = {};
    for (const name of ['database', 'key-encryption-key-file', 'key-encryption-key-previous-file'] as const) {
      const v = values[name];
      if (typeof v === 'string') flags[name] = v;
    }
    const config = loadConfig(process.env, flags);
    const atRest = AtRest.load(process.env, config);
    if (!atRest.configured) {
      throw new UsageError('keys rewrap needs the key-encryption key: set GATEHOUSE_KEY_ENCRYPTION_KEY or --key-encryption-key-file');
    }
    const storage = await openStorage(config.databaseUrl, { sealer: atRest });
    try {
      const missing = [
        ...new Set([
          ...(await storage.signingKeys.missingKeyEncryptionKeys()),
          ...(await storage.dpopNonceKeys.missingKeyEncryptionKeys()),
        ]),
      ].sort();
      if (missing.length > 0) {
        process.stderr.write(
          `gatehouse: some keys are sealed under key-encryption key ${missing.join(', ')}, which is neither the current nor the previous key: set GATEHOUSE_KEY_ENCRYPTION_KEY_PREVIOUS to it\n`,
        );
        return 1;
      }
      const report = await storage.signingKeys.sealAll({ rewrap: true });
      const nonceKeys = await storage.dpopNonceKeys.sealAll({ rewrap: true });
      print(
        values.json === true,
        {
          total: report.total,
          resealed: report.sealed,
          dpop_nonce_keys: { total: nonceKeys.total, resealed: nonceKeys.sealed },
          kek: atRest.kid,
        },
        `${report.sealed} of ${report.total} signing keys sealed under key-encryption key ${atRest.kid!}; the others already were` +
          (nonceKeys.total > 0 ? `\n${nonceKeys.sealed} of ${nonceKeys.total} DPoP nonce keys sealed under it` : ''),
      );
      return 0;
    } finally {
      await storage.close();
    }
  }
  throw new UsageError(`unknown keys command: ${sub}`);
}
