// gatehouse registration-tokens create — an initial access token for dynamic client registration
// (RFC 7591 §3), printed once and stored as its digest.
import { parseArgs } from 'node:util';
import { nowSeconds } from '../oauth/crypto.js';
import {
  createRegistrationToken,
  DEFAULT_REGISTRATION_TOKEN_TTL,
  DEFAULT_REGISTRATION_TOKEN_USES,
  MAX_REGISTRATION_TOKEN_TTL,
  MAX_REGISTRATION_TOKEN_USES,
} from '../oauth/registration.js';
import { print, UsageError, withStorage } from './common.js';

const HELP = `gatehouse registration-tokens — initial access tokens for dynamic client registration

  gatehouse registration-tokens create [--expires-in SECONDS] [--uses N] [--database URL] [--json]
      Prints a new initial access token, shown once and stored as a digest. A client presents it as
      \`Authorization: Bearer TOKEN\` on POST /register (RFC 7591 §3); each registration spends one use.
      Defaults: --expires-in ${DEFAULT_REGISTRATION_TOKEN_TTL} (one day, at most ${MAX_REGISTRATION_TOKEN_TTL}), --uses ${DEFAULT_REGISTRATION_TOKEN_USES} (at most ${MAX_REGISTRATION_TOKEN_USES}).
      --json prints {"initial_access_token", "expires_at", "uses"}.
`;

function positiveInteger(flag: string, raw: string | undefined, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`--${flag} must be a whole number`);
  const n = Number(raw.trim());
  if (n < 1 || n > max) throw new UsageError(`--${flag} must be between 1 and ${max}`);
  return n;
}

export async function registrationTokensCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'create') throw new UsageError(`unknown registration-tokens command: ${sub}`);
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      'expires-in': { type: 'string' },
      uses: { type: 'string' },
      database: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const expiresIn = positiveInteger('expires-in', values['expires-in'], MAX_REGISTRATION_TOKEN_TTL);
  const uses = positiveInteger('uses', values.uses, MAX_REGISTRATION_TOKEN_USES);
  return withStorage(values.database, async (storage) => {
    const created = await createRegistrationToken(storage.registrationTokens, { expiresIn, uses }, nowSeconds());
    const text = [
      `initial_access_token: ${created.token}`,
      `expires:              ${new Date(created.expiresAt * 1000).toISOString()}`,
      `uses:                 ${created.uses}`,
      '(the token is shown only this once; send it as "Authorization: Bearer TOKEN" to POST /register)',
    ].join('\n');
    print(values.json === true, { initial_access_token: created.token, expires_at: created.expiresAt, uses: created.uses }, text);
    return 0;
  });
}
