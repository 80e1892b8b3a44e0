#!/usr/bin/env node
// The `gatehouse` command (CONTRACT.md): serve, users, clients, keys, sessions, cleanup, registration-tokens, events, grants.
import { createServer } from 'node:net';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig, OPTION_NAMES } from '../config/config.js';
import { OAuthError } from '../oauth/errors.js';
import { serve } from '../main.js';
import { clientsCommand } from './clients.js';
import { usersCommand } from './users.js';
import { keysCommand } from './keys.js';
import { resourcesCommand } from './resources.js';
import { sessionsCommand } from './sessions.js';
import { cleanupCommand } from './cleanup.js';
import { registrationTokensCommand } from './registration-tokens.js';
import { eventsCommand } from './events.js';
import { grantsCommand } from './grants.js';
import { UsageError } from './common.js';

const HELP = `gatehouse — OAuth 2.0 / OpenID Connect authorization server

Usage:
  gatehouse serve [--host 127.0.0.1] [--port 9000] [--issuer URL] [--database URL] [options]
  gatehouse users create --username NAME --password-stdin [--email E] [--name "Full Name"] [--json]
  gatehouse users list [--json]
  gatehouse users disable|enable|delete USERNAME [--issuer URL] [--json]
  gatehouse users set-password USERNAME --password-stdin [--keep-sessions] [--issuer URL] [--json]
  gatehouse users unlock USERNAME [--redis URL] [--json]
  gatehouse clients create --name NAME --redirect-uri URL [--redirect-uri URL ...] [--grant-types LIST]
                           [--scope "openid profile ..."] [--public] [--auth-method METHOD] [--json]
  gatehouse clients list [--json]
  gatehouse clients delete CLIENT_ID [--issuer URL] [--json]
  gatehouse grants list --user USERNAME [--client CLIENT_ID] [--json]
  gatehouse grants revoke --user USERNAME [--client CLIENT_ID] [--issuer URL] [--json]
  gatehouse resources create --uri URI --scope "api:read api:write" [--name NAME]
                             [--scope-description "api:read=Read your orders"]... [--json]
  gatehouse resources list | update URI ... | delete URI
  gatehouse keys list [--json]
  gatehouse keys rotate [--alg ES256|RS256|EdDSA|all] [--immediate]
  gatehouse keys retire KID [--keep-published]
  gatehouse keys rewrap
  gatehouse sessions revoke --user USERNAME [--issuer URL] [--json]
  gatehouse cleanup [--batch-size N] [--json]
  gatehouse registration-tokens create [--expires-in SECONDS] [--uses N] [--json]
  gatehouse events list [--since 7d] [--type login.failed] [--user USERNAME] [--client ID] [--json]

Every command takes --database URL (sqlite:PATH or postgres://…; env GATEHOUSE_DATABASE_URL;
default sqlite:./data/gatehouse.db). Run \`gatehouse <command> --help\` for details.
`;

const SERVE_HELP = `gatehouse serve — run the authorization server

Options (flag / environment variable, default):
${(Object.keys(OPTION_NAMES) as (keyof typeof OPTION_NAMES)[])
  .map((k) => `  --${OPTION_NAMES[k].flag.padEnd(32)} ${OPTION_NAMES[k].env}`)
  .join('\n')}

Defaults: host 127.0.0.1, port 9000, issuer http://HOST:PORT (plain http only for loopback issuers),
database sqlite:./data/gatehouse.db, code TTL 60 s, access token TTL 600 s, refresh token TTL 30 days.
Prints \`listening on URL\` when ready; exits cleanly on SIGTERM/SIGINT.
`;

async function serveCommand(args: string[]): Promise<void> {
  const options: ParseArgsConfig['options'] = { help: { type: 'boolean', short: 'h' } };
  for (const { flag } of Object.values(OPTION_NAMES)) options[flag] = { type: 'string' };
  const { values } = parseArgs({ args, options, allowPositionals: false, strict: true });
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return;
  }
  const flags: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (typeof v === 'string') flags[k] = v;
  let config = loadConfig(process.env, flags);
  if (config.port === 0 && flags.issuer === undefined && !process.env.GATEHOUSE_ISSUER) {
    // An ephemeral port: choose it now so that the default issuer names the real port.
    config = loadConfig(process.env, { ...flags, port: String(await freePort(config.host)) });
  }
  await serve(config);
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(HELP);
      return command === undefined ? 2 : 0;
    case 'serve':
      await serveCommand(rest);
      return -1; // keeps running
    case 'users':
      return usersCommand(rest);
    case 'clients':
      return clientsCommand(rest);
    case 'keys':
      return keysCommand(rest);
    case 'sessions':
      return sessionsCommand(rest);
    case 'resources':
      return resourcesCommand(rest);
    case 'cleanup':
      return cleanupCommand(rest);
    case 'registration-tokens':
      return registrationTokensCommand(rest);
    case 'events':
      return eventsCommand(rest);
    case 'grants':
      return grantsCommand(rest);
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError || (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`gatehouse: ${(error as Error).message}\nRun \`gatehouse --help\` for usage.\n`);
      process.exitCode = 2;
    } else if (error instanceof ConfigError) {
      process.stderr.write(`gatehouse: ${error.message}\n`);
      process.exitCode = 2;
    } else if (error instanceof OAuthError) {
      process.stderr.write(`gatehouse: ${error.code}: ${error.description}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`gatehouse: ${(error as Error)?.message ?? String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
