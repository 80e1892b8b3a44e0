// The shared ending of the CLI's lifecycle commands (users disable|enable|delete|set-password, grants
// revoke, clients delete): send the back-channel logout tokens the action returned, then print what
// was revoked (text, or one JSON object with --json).
import { loadConfig, type Config } from '../config/config.js';
import type { Log } from '../log.js';
import { nowSeconds } from '../oauth/crypto.js';
import { KeyStore } from '../oauth/keys/key-store.js';
import { sendLogoutNotices, type LifecycleDeps, type LifecycleResult } from '../oauth/lifecycle.js';
import type { Storage } from '../storage/index.js';
import { cliEvents, print } from './common.js';

/** The options every lifecycle command takes besides its own. */
export const LIFECYCLE_OPTIONS = {
  issuer: { type: 'string' },
  database: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The configuration for the logout tokens' iss: --issuer, GATEHOUSE_ISSUER or the default. */
export function lifecycleConfig(values: { issuer?: string | undefined; database?: string | undefined }): Config {
  const flags: Record<string, string> = {};
  if (values.database !== undefined) flags.database = values.database;
  if (values.issuer !== undefined) flags.issuer = values.issuer;
  return loadConfig(process.env, flags);
}

export function cliLifecycleDeps(storage: Storage): LifecycleDeps {
  return { storage, events: cliEvents(storage), now: nowSeconds(), by: 'cli' };
}

const stderrLog: Log = {
  info: () => undefined,
  warn: (obj, msg) =>
    process.stderr.write(
      `gatehouse: ${msg}: ${String(obj.client_id)} ${obj.status !== undefined ? `(HTTP ${String(obj.status)})` : String(obj.error ?? '')}\n`,
    ),
};

/** Sends the result's logout tokens and prints the summary under `heading`, with `fields` first in the JSON. */
export async function reportLifecycle(
  storage: Storage,
  config: Pick<Config, 'issuer'>,
  result: LifecycleResult,
  out: { json: boolean; heading: string; fields: Record<string, unknown>; countsInText?: boolean },
): Promise<void> {
  const now = nowSeconds();
  let delivered = 0;
  const sent = result.logout.reduce((n, notice) => n + notice.clients.length, 0);
  if (sent > 0) {
    const keys = new KeyStore(storage.signingKeys);
    await keys.reload(now);
    delivered = (await sendLogoutNotices({ config, keys }, result.logout, stderrLog, now)).filter((r) => r.ok).length;
  }
  const summary = {
    ...out.fields,
    sessions: result.sessions,
    refresh_token_families: result.families,
    access_tokens_denied: result.accessTokens,
    codes_voided: result.codes,
    device_codes_voided: result.deviceCodes,
    grants_deleted: result.grants,
    backchannel_logout: { tokens: sent, delivered },
  };
  if (out.countsInText === false) return print(out.json, summary, out.heading);
  print(
    out.json,
    summary,
    [
      out.heading,
      `  sessions deleted:                 ${result.sessions}`,
      `  refresh-token families revoked:   ${result.families}`,
      `  access tokens denied:             ${result.accessTokens}`,
      `  unredeemed codes voided:          ${result.codes}`,
      `  unredeemed device codes voided:   ${result.deviceCodes}`,
      `  grants deleted:                   ${result.grants}`,
      `  back-channel logout delivered:    ${delivered} of ${sent}`,
    ].join('\n'),
  );
}
