// gatehouse sessions revoke --user USERNAME — sign a user out everywhere (oauth/logout.ts).
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { nowSeconds } from '../oauth/crypto.js';
import { KeyStore } from '../oauth/keys/key-store.js';
import type { Log } from '../log.js';
import { sendBackchannelLogout } from '../oauth/logout.js';
import { signOutUser } from '../oauth/admin/users.js';
import { cliAdminContext, print, UsageError, withStorage } from './common.js';

const HELP = `gatehouse sessions — browser sessions at the authorization server

  gatehouse sessions revoke --user USERNAME [--issuer URL] [--database URL] [--json]
      Signs the user out everywhere: deletes every session of the user, revokes every refresh-token
      family (and the access tokens issued with them), and sends an OpenID Connect back-channel logout
      token to every client that registered a backchannel_logout_uri (5 s timeout each).
      --issuer (or GATEHOUSE_ISSUER) must be the server's issuer: it is the iss of the logout tokens.
`;

export async function sessionsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'revoke') {
    const { values } = parseArgs({
      args: rest,
      strict: true,
      options: {
        user: { type: 'string' },
        issuer: { type: 'string' },
        database: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (!values.user) throw new UsageError('sessions revoke needs --user USERNAME');
    const flags: Record<string, string> = {};
    if (values.database !== undefined) flags.database = values.database;
    if (values.issuer !== undefined) flags.issuer = values.issuer;
    const config = loadConfig(process.env, flags);
    return withStorage(values.database, async (storage) => {
      const user = await storage.users.findByUsername(values.user!);
      if (!user) {
        process.stderr.write(`gatehouse: no user named ${values.user}\n`);
        return 1;
      }
      const now = nowSeconds();
      // The admin service layer (records session.revoked by cli), the same function as the admin API's sign-out.
      const result = await signOutUser(cliAdminContext(storage, values.database), user.id);
      const revoked = {
        sessions: result.sessions,
        families: result.families,
        accessTokens: result.accessTokens,
        targets: result.logout[0]?.clients ?? [],
      };
      const log: Log = {
        info: () => undefined,
        warn: (obj, msg) =>
          process.stderr.write(
            `gatehouse: ${msg}: ${String(obj.client_id)} ${obj.status !== undefined ? `(HTTP ${String(obj.status)})` : String(obj.error ?? '')}\n`,
          ),
      };
      let delivered = 0;
      if (revoked.targets.length > 0) {
        const keys = new KeyStore(storage.signingKeys);
        await keys.reload(now);
        // No sid: the logout token means every session of the user (Back-Channel Logout 1.0 §2.4).
        const results = await sendBackchannelLogout({ config, keys }, revoked.targets, { subject: user.id }, log, now);
        delivered = results.filter((r) => r.ok).length;
      }
      const summary = {
        user: user.username,
        sessions: revoked.sessions,
        refresh_token_families: revoked.families,
        access_tokens_denied: revoked.accessTokens,
        backchannel_logout: { clients: revoked.targets.length, delivered },
      };
      print(
        values.json === true,
        summary,
        [
          `signed ${user.username} out everywhere:`,
          `  sessions deleted:                 ${revoked.sessions}`,
          `  refresh-token families revoked:   ${revoked.families}`,
          `  access tokens from codes denied:  ${revoked.accessTokens}`,
          `  back-channel logout delivered:    ${delivered} of ${revoked.targets.length} client(s)`,
        ].join('\n'),
      );
      return 0;
    });
  }
  throw new UsageError(`unknown sessions command: ${sub}`);
}
