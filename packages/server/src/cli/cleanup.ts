// gatehouse cleanup — one sweep of expired rows (storage/cleanup.ts), for cron-style deployments.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { nowSeconds } from '../oauth/crypto.js';
import { codeRetention, DEFAULT_BATCH_SIZE, sweepExpiredRows, type SweepCounts } from '../storage/cleanup.js';
import { print, UsageError, withStorage } from './common.js';

const HELP = `gatehouse cleanup — delete expired rows once

  gatehouse cleanup [--batch-size N] [--database URL] [--json]
      Deletes expired interactions and sessions, denylisted access tokens past their expiry, refresh
      tokens past their absolute expiry, retired signing keys past their removal time, and authorization
      codes and device codes 30 minutes (or the access token lifetime, if longer) after they expired or
      were used — so that a replayed code is still recognised — and security events older than
      --security-event-retention (90 days). Works in batches of N rows (default ${DEFAULT_BATCH_SIZE}) with
      a short pause between them; safe while servers run. A running server does this every 5 minutes
      by itself; use this command from cron when you want it on your own schedule.
`;

const LABELS: Record<keyof SweepCounts, string> = {
  interactions: 'interactions',
  sessions: 'sessions',
  revokedAccessTokens: 'revoked access tokens',
  refreshTokens: 'refresh tokens',
  refreshSuccessors: 'grace-window successor responses',
  authorizationCodes: 'authorization codes',
  signingKeys: 'signing keys',
  deviceCodes: 'device codes',
  clientAssertionJtis: 'client assertion jtis',
  pushedRequests: 'pushed authorization requests',
  registrationTokens: 'registration tokens',
  securityEvents: 'security events',
  dpopJtis: 'DPoP proof jtis',
  loginLocks: 'login locks',
  webauthnChallenges: 'WebAuthn challenges',
};

export async function cleanupCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      'batch-size': { type: 'string' },
      database: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`cleanup takes no arguments: ${positionals.join(' ')}`);
  let batchSize = DEFAULT_BATCH_SIZE;
  if (values['batch-size'] !== undefined) {
    if (!/^\d+$/.test(values['batch-size']) || Number(values['batch-size']) < 1 || Number(values['batch-size']) > 100_000) {
      throw new UsageError('--batch-size must be a whole number from 1 to 100000');
    }
    batchSize = Number(values['batch-size']);
  }
  const config = loadConfig(process.env, values.database === undefined ? {} : { database: values.database });
  return withStorage(values.database, async (storage) => {
    // No per-run cap: a cron run finishes the job; the pauses keep it gentle on a live database.
    const counts = await sweepExpiredRows(storage, nowSeconds(), {
      codeRetention: codeRetention(config),
      securityEventRetention: config.securityEventRetention,
      batchSize,
      maxBatches: Number.MAX_SAFE_INTEGER,
    });
    const width = Math.max(...Object.values(LABELS).map((l) => l.length));
    const text = (Object.keys(LABELS) as (keyof SweepCounts)[]).map((k) => `${`${LABELS[k]}:`.padEnd(width + 2)}${counts[k]}`);
    print(values.json === true, counts, ['deleted expired rows:', ...text.map((t) => `  ${t}`)].join('\n'));
    return 0;
  });
}
