// IN-09: property-based fuzzing (fast-check) of every endpoint through app.inject. Requests are built
// from the endpoint's own parameter names, live values of the fixture (client credentials, an access
// token, an interaction and its CSRF token, a user code, an initial access token) and their mutations,
// random and huge strings, repeated parameters, bad percent-encoding and bad UTF-8, other content
// types and Authorization headers. Invariants on every answer:
//   1. never a 5xx;
//   2. a JSON error has RFC 6749 §5.2's shape (`error` and an optional `error_description` from the
//      allowed characters); an HTML answer is a page (an error page when 4xx); no stack trace anywhere;
//   3. a redirect goes to the server itself or to a URI the fixture registered (redirect or
//      post-logout URI), never elsewhere;
//   4. a rejected request (4xx, or a redirect that carries `error`) changes nothing stored: a digest of
//      every table but security_events (which records refusals on purpose) is the same before and after.
// `npm test` runs FUZZ_RUNS (default 150) cases per property; `npm run fuzz` runs 10,000. The seed is
// printed as a test diagnostic; replay a failure with FUZZ_SEED=<seed> (and FUZZ_RUNS) — fast-check also
// prints the seed and the shrunk counterexample path.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { ALL_GRANTS } from '../src/oauth/grants/index.js';
import { ACCESS_TOKEN_TYPE, tokenExchangeGrant } from '../src/oauth/grants/token-exchange.js';
import { deviceCodeGrant } from '../src/oauth/grants/device-code.js';
import { createRegistrationToken } from '../src/oauth/registration.js';
import { registerResource } from '../src/oauth/resources.js';
import { mintAccessToken } from '../src/oauth/tokens/jwt.js';
import { basic, Browser, form, frozenClock, issueTokens, parseForm, pkce, startServer, tableNames, type TestServer } from './helpers.js';

const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 150) || 150);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

/** FUZZ_VERBOSE=1: the diagnostics count error descriptions too. */
const VERBOSE = process.env.FUZZ_VERBOSE === '1';
const PHOTOS = 'https://photos.example/api';
const C1 = 'https://c1.example/cb';
const BYE = 'https://c1.example/bye';
const P1 = 'http://127.0.0.1/cb';
const REGISTERED_TARGETS = new Set([C1, BYE, P1]);
/** RFC 6749 §5.2: error and error_description are %x20-21 / %x23-5B / %x5D-7E. */
const ERROR_CHARSET = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;
/** The error codes of the RFCs (and ours) are lower-case words joined by underscores. */
const ERROR_CODE = /^[a-z]+(_[a-z]+)*$/;

interface Fixture {
  server: TestServer;
  conf: { clientId: string; clientSecret: string };
  pub: { clientId: string };
  accessToken: string;
  idToken: string;
  interactionId: string;
  interactionCookie: string;
  csrfToken: string;
  deviceCookie: string;
  deviceCsrf: string;
  userCode: string;
  initialAccessToken: string;
  dynamic: { clientId: string; registrationAccessToken: string };
  /** Values a request may carry, raw: each is either live or harmless when sent. */
  live: string[];
  /** Secrets whose raw use would legitimately change state (refresh token, device code): only mutated. */
  mutatedOnly: string[];
}

let fx: Fixture;

async function setUp(): Promise<Fixture> {
  // A clock that stands still: during a long run nothing expires, so the background sweep and key
  // maintenance have nothing to change, and a changed digest can only come from the request.
  const server = await startServer({}, frozenClock());
  const now = server.clock();
  await registerResource(server.deps.storage, { uri: PHOTOS, name: 'Photos', scopes: ['photos:read', 'photos:write'] }, now);
  const confidential = await server.createClient({
    redirectUris: [C1],
    postLogoutRedirectUris: [BYE],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials', deviceCodeGrant.grantType, tokenExchangeGrant.grantType],
    tokenExchangeResources: [PHOTOS],
  });
  const conf = { clientId: confidential.clientId, clientSecret: confidential.clientSecret! };
  const pub = await server.createClient({
    redirectUris: [P1],
    isPublic: true,
    grantTypes: ['authorization_code', 'refresh_token', deviceCodeGrant.grantType],
  });
  const user = await server.createUser();

  const { body } = await issueTokens(server, new Browser(server.app), confidential, user, { scope: 'openid profile offline_access' });
  const minted = await mintAccessToken(server.deps.keys, {
    issuer: server.issuer,
    audience: [PHOTOS],
    ttl: 3600,
    subject: user.id,
    clientId: conf.clientId,
    scope: 'photos:read',
    now,
  });

  // An interaction waiting at its login page, with its cookie and CSRF token.
  const browser = new Browser(server.app);
  const p = pkce();
  const start = await browser.get(
    `/authorize?${form({ response_type: 'code', client_id: conf.clientId, redirect_uri: C1, scope: 'openid', code_challenge: p.challenge, code_challenge_method: 'S256' })}`,
  );
  const interactionPath = String(start.headers.location);
  const interactionId = interactionPath.split('/').pop()!;
  const login = parseForm((await browser.get(interactionPath)).body);
  const interactionCookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ');

  // A pending device authorization, and the device page's cookie and CSRF token.
  const device = await server.app.inject({
    method: 'POST',
    url: '/device_authorization',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(conf.clientId, conf.clientSecret) },
    payload: form({ scope: 'openid profile' }),
  });
  const { user_code, device_code } = device.json() as { user_code: string; device_code: string };
  const deviceBrowser = new Browser(server.app);
  const entry = parseForm((await deviceBrowser.get('/device')).body);
  const deviceCookie = [...deviceBrowser.cookies].map(([k, v]) => `${k}=${v}`).join('; ');

  const iat = (await createRegistrationToken(server.deps.storage.registrationTokens, { uses: 1_000_000 }, now)).token;
  const registered = await server.app.inject({
    method: 'POST',
    url: '/register',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${iat}` },
    payload: JSON.stringify({ client_name: 'Fuzzed', redirect_uris: ['https://c1.example/cb'] }),
  });
  const dyn = registered.json() as { client_id: string; registration_access_token: string };

  return {
    server,
    conf,
    pub: { clientId: pub.clientId },
    accessToken: minted.token,
    idToken: body.id_token!,
    interactionId,
    interactionCookie,
    csrfToken: login.fields.csrf_token!,
    deviceCookie,
    deviceCsrf: entry.fields.csrf_token!,
    userCode: user_code,
    initialAccessToken: iat,
    dynamic: { clientId: dyn.client_id, registrationAccessToken: dyn.registration_access_token },
    live: [
      conf.clientId,
      conf.clientSecret,
      pub.clientId,
      minted.token,
      body.access_token,
      body.id_token!,
      C1,
      P1,
      BYE,
      PHOTOS,
      user_code,
      login.fields.csrf_token!,
      entry.fields.csrf_token!,
      user.username,
      user.password,
      p.challenge,
      p.verifier,
      'S256',
      'plain',
      'code',
      'token',
      'openid',
      'openid profile email offline_access',
      'photos:read',
      'login consent none',
      'allow',
      'deny',
      'access_token',
      'refresh_token',
      ACCESS_TOKEN_TYPE,
      'urn:ietf:params:oauth:token-type:refresh_token',
      'urn:ietf:params:oauth:request_uri:abc',
      'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      ...ALL_GRANTS.map((g) => g.grantType),
    ],
    mutatedOnly: [body.refresh_token!, device_code],
  };
}

/** A digest per table of everything stored except the security events (refusals are recorded there on purpose). */
async function storedDigests(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await tableNames(fx.server.deps.storage)).sort()) {
    if (name === 'security_events' || name.startsWith('kysely_')) continue;
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(fx.server.deps.storage.db);
    const hash = createHash('sha256');
    for (const row of rows.rows) hash.update(`${JSON.stringify(row)}\n`);
    out.set(name, hash.digest('hex'));
  }
  return out;
}

/** The tables whose digest differs. */
function changedTables(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...new Set([...before.keys(), ...after.keys()])].filter((t) => before.get(t) !== after.get(t));
}

// ---- arbitraries -------------------------------------------------------------------------------

const BAD_ESCAPES = ['%', '%2', '%zz', '%G0', '%C3%28', '%FF', '%ED%A0%80', '%E0%80%AF', '%F8%88%80%80%80', '%00', '%C0%AF', '%'];
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((n) => String.fromCharCode(n));

function mutate(value: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.nat({ max: Math.max(0, value.length - 1) }).map((i) => value.slice(0, i)),
    fc
      .tuple(fc.nat({ max: value.length }), fc.string({ minLength: 1, maxLength: 3 }))
      .map(([i, s]) => value.slice(0, i) + s + value.slice(i + 1)),
    fc.constantFrom(`${value}x`, `${value} `, ` ${value}`, value.toUpperCase(), `${value}${value}`, `${value}\u0000`, `${value}%`),
  );
}

function valueArb(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...fx.live) },
    { weight: 3, arbitrary: fc.constantFrom(...fx.live, ...fx.mutatedOnly).chain(mutate) },
    { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
    { weight: 1, arbitrary: fc.string({ unit: loneSurrogate, minLength: 1, maxLength: 3 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 40_000 }).map((n) => 'A'.repeat(n)) },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t', '\r\n', 'null', '[]', '{}', '-1', '1e309', '__proto__', 'constructor') },
  );
}

/** One name=value pair as it goes on the wire: encoded, raw, or with a broken escape. */
function pairArb(names: readonly string[]): fc.Arbitrary<string> {
  const name = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) });
  return fc.tuple(name, valueArb(), fc.nat({ max: 9 }), fc.constantFrom(...BAD_ESCAPES)).map(([n, v, how, bad]) => {
    if (how <= 5) return `${encodeURIComponent(n)}=${encodeURIComponent(v.replace(/[\ud800-\udfff]/g, ''))}`;
    if (how === 6) return `${n}=${v}`;
    if (how === 7) return `${encodeURIComponent(n)}=${encodeURIComponent(v.replace(/[\ud800-\udfff]/g, '')).slice(0, 8)}${bad}`;
    if (how === 8) return `${encodeURIComponent(n)}`;
    return `${bad}=${encodeURIComponent(n)}`;
  });
}

/** A well-formed pair: one of the endpoint's names, a properly encoded value. */
function cleanPairArb(names: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...names), valueArb())
    .map(([n, v]) => `${encodeURIComponent(n)}=${encodeURIComponent(v.replace(/[\ud800-\udfff]/g, ''))}`);
}

/**
 * A parameter string: mostly well-formed (so that requests get past parsing into the protocol
 * checks), often with broken pairs mixed in, sometimes pure noise. Names come from a short list,
 * so repeated parameters happen by themselves.
 */
function paramsArb(names: readonly string[], fixed: readonly string[] = [], rare: readonly string[] = []): fc.Arbitrary<string> {
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .uniqueArray(cleanPairArb(names), { maxLength: 8, selector: (pair) => pair.slice(0, pair.indexOf('=')) })
        .map((pairs) => [...fixed, ...pairs].join('&')),
    },
    { weight: 3, arbitrary: fc.array(pairArb([...names, ...rare]), { maxLength: 10 }).map((pairs) => [...fixed, ...pairs].join('&')) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: fc.constantFrom('&&&', '=', '==&=', '&=x', '%', '?', 'a=1&a=2&a=3', '\u0000') },
  );
}

const CONTENT_TYPES = [
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'application/x-www-form-urlencoded; charset=iso-8859-1',
  'application/json',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  '',
];

function authorizationArb(): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(basic(fx.conf.clientId, fx.conf.clientSecret)) },
    { weight: 2, arbitrary: fc.constant(undefined) },
    fc.constant(basic(fx.conf.clientId, `${fx.conf.clientSecret}x`)),
    fc.constant(basic(fx.pub.clientId, '')),
    valueArb().map((v) => `Basic ${Buffer.from(v).toString('base64')}`),
    fc.constantFrom('Basic', 'Basic ', 'Basic ===', 'Basic %%%', `Basic ${Buffer.from('%zz:%C3%28').toString('base64')}`),
    fc.constant(`Bearer ${fx.accessToken}`),
    valueArb().map((v) => `Bearer ${v.replace(/[^\x20-\x7e]/g, '')}`),
    fc.constantFrom('DPoP x', 'Digest a=b', 'bearer', 'Bearer  a b'),
  );
}

const addressArb = fc.oneof(fc.ipV4(), fc.ipV6());

interface FuzzRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  remoteAddress: string;
}

/** `rare` names (client authentication in the body, beside a Basic header) go only into the malformed mix. */
function postArb(
  path: string | fc.Arbitrary<string>,
  names: readonly string[],
  fixed: readonly string[] = [],
  cookie?: () => string,
  rare: readonly string[] = [],
) {
  return fc
    .record({
      path: typeof path === 'string' ? fc.constant(path) : path,
      body: fc.oneof({ weight: 9, arbitrary: paramsArb(names, fixed, rare) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) }),
      type: fc.constantFrom(...CONTENT_TYPES),
      authorization: authorizationArb(),
      withCookie: fc.boolean(),
      origin: fc.constantFrom(undefined, 'http://127.0.0.1:9000', 'https://evil.example', 'null'),
      remoteAddress: addressArb,
    })
    .map((r): FuzzRequest => {
      const headers: Record<string, string> = {};
      if (r.type) headers['content-type'] = r.type;
      if (r.authorization !== undefined) headers.authorization = r.authorization;
      if (r.origin !== undefined) headers.origin = r.origin;
      if (cookie && r.withCookie) headers.cookie = cookie();
      return {
        method: 'POST',
        url: r.path,
        headers,
        payload: typeof r.body === 'string' ? r.body : Buffer.from(r.body),
        remoteAddress: r.remoteAddress,
      };
    });
}

function getArb(path: string | fc.Arbitrary<string>, names: readonly string[], fixed: readonly string[] = [], cookie?: () => string) {
  return fc
    .record({
      path: typeof path === 'string' ? fc.constant(path) : path,
      query: paramsArb(names, fixed),
      authorization: authorizationArb(),
      withCookie: fc.boolean(),
      remoteAddress: addressArb,
    })
    .map((r): FuzzRequest => {
      const headers: Record<string, string> = {};
      if (r.authorization !== undefined) headers.authorization = r.authorization;
      if (cookie && r.withCookie) headers.cookie = cookie();
      // The query goes on the wire as generated (light-my-request would re-encode an object).
      const query = r.query.replace(/[#\s]/g, (c) => encodeURIComponent(c));
      return { method: 'GET', url: `${r.path}?${query}`, headers, remoteAddress: r.remoteAddress };
    });
}

// ---- invariants --------------------------------------------------------------------------------

function redirectAllowed(location: string, issuer: string): boolean {
  if (location.startsWith('/')) return !location.startsWith('//') && !location.startsWith('/\\');
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return false;
  }
  if (url.origin === new URL(issuer).origin) return true;
  return REGISTERED_TARGETS.has(location.split(/[?#]/)[0]!);
}

function isRejected(res: LightMyRequestResponse): boolean {
  if (res.statusCode >= 400) return true;
  const location = res.headers.location;
  return res.statusCode >= 300 && typeof location === 'string' && /[?&#]error=/.test(location);
}

function checkAnswer(req: FuzzRequest, res: LightMyRequestResponse): void {
  const where = `${req.method} ${req.url.slice(0, 200)}`;
  assert.ok(res.statusCode < 500, `${where}: ${res.statusCode} ${res.body.slice(0, 300)}`);
  assert.ok(!/\n\s+at .+:\d+:\d+\)?/.test(res.body), `${where}: a stack trace in the body`);
  const type = String(res.headers['content-type'] ?? '');
  if (res.statusCode >= 300 && res.statusCode < 400) {
    const location = String(res.headers.location ?? '');
    assert.ok(redirectAllowed(location, fx.server.issuer), `${where}: redirect to ${location}`);
    return;
  }
  if (res.statusCode < 400) return;
  if (type.startsWith('application/json')) {
    const body = JSON.parse(res.body) as Record<string, unknown>;
    assert.equal(typeof body.error, 'string', `${where}: ${res.body.slice(0, 200)}`);
    assert.match(body.error as string, ERROR_CODE, `${where}: ${res.body.slice(0, 200)}`);
    // Not the framework's own error shape ({statusCode, code: 'FST_…', message}), which names internals.
    for (const key of ['statusCode', 'code', 'message', 'stack'])
      assert.ok(!(key in body), `${where}: the error body has ${key}: ${res.body.slice(0, 200)}`);
    if (body.error_description !== undefined) {
      assert.equal(typeof body.error_description, 'string', where);
      assert.match(body.error_description as string, ERROR_CHARSET, where);
    }
  } else if (type.startsWith('text/html')) {
    assert.match(res.body, /^<!doctype html>/i, `${where}: an HTML error answer is a page`);
  } else {
    // RFC 6750 §3: a 401 at a protected resource may be just the challenge.
    assert.ok(
      res.statusCode === 401 && res.headers['www-authenticate'] !== undefined && res.body === '',
      `${where}: ${res.statusCode} ${type}`,
    );
  }
}

async function fuzz(t: TestContext, arb: fc.Arbitrary<FuzzRequest>, runs = RUNS): Promise<void> {
  t.diagnostic(`fast-check seed ${SEED}, ${runs} runs (replay: FUZZ_SEED=${SEED} FUZZ_RUNS=${runs})`);
  const statuses = new Map<string, number>();
  let lastDigests: Map<string, string> | undefined;
  await fc.assert(
    fc.asyncProperty(arb, async (req) => {
      // The state after one case is the state before the next (nothing else writes: the clock stands still).
      const before = lastDigests ?? (await storedDigests());
      lastDigests = undefined; // a case that fails below leaves the next one to read the state afresh
      const res = await fx.server.app.inject(req);
      const code =
        /^application\/json/.test(String(res.headers['content-type'])) && res.statusCode >= 400
          ? `/${(JSON.parse(res.body) as { error?: string }).error}${VERBOSE ? ` (${(JSON.parse(res.body) as { error_description?: string }).error_description})` : ''}`
          : '';
      statuses.set(`${res.statusCode}${code}`, (statuses.get(`${res.statusCode}${code}`) ?? 0) + 1);
      const after = await storedDigests();
      checkAnswer(req, res);
      lastDigests = after;
      if (isRejected(res)) {
        // A refused sign-in is counted by the login throttle (UI-06, DS-03: login_locks without Redis):
        // that write is the point of the throttle, not a change a rejected request should not make.
        const signIn =
          req.method === 'POST' && /^\/(?:interaction\/[^/?]+\/(?:login|second-factor|passkey)|device)(?:[/?]|$)/.test(req.url);
        const changed = changedTables(before, after).filter((t) => !(signIn && t === 'login_locks'));
        assert.deepEqual(
          changed,
          [],
          `${req.method} ${req.url.slice(0, 200)} (${res.statusCode}): a rejected request changed ${changed.join(', ')}`,
        );
      }
    }),
    { numRuns: runs, seed: SEED },
  );
  // What the cases reached (a fuzzer that only ever meets the first check proves little).
  t.diagnostic(
    `statuses: ${[...statuses]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([s, n]) => `${s}×${n}`)
      .join(' ')}`,
  );
}

// ---- the endpoints -----------------------------------------------------------------------------

const AUTHORIZE = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'prompt',
  'max_age',
  'login_hint',
  'id_token_hint',
  'resource',
  'request_uri',
  'request',
  'response_mode',
  'dpop_jkt',
  'claims',
  'ui_locales',
];
const CLIENT_AUTH = ['client_id', 'client_secret', 'client_assertion', 'client_assertion_type'];
const TOKEN = [
  'grant_type',
  'code',
  'redirect_uri',
  'code_verifier',
  'refresh_token',
  'scope',
  'resource',
  'device_code',
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'requested_token_type',
  'audience',
];

describe('IN-09 fuzzing every endpoint: no 5xx, RFC error shapes, no foreign redirect, nothing stored changes on a rejected request', () => {
  before(async () => {
    fx = await setUp();
  });
  after(() => fx.server.close());

  test('IN-09 GET and POST /authorize', async (t) => {
    const fixed = () => [`client_id=${encodeURIComponent(fx.conf.clientId)}`];
    await fuzz(
      t,
      fc.oneof(getArb('/authorize', AUTHORIZE), getArb('/authorize', AUTHORIZE, fixed()), postArb('/authorize', AUTHORIZE, fixed())),
    );
  });

  for (const grant of ALL_GRANTS) {
    test(`IN-09 POST /token with grant_type ${grant.grantType}`, async (t) => {
      await fuzz(t, postArb('/token', TOKEN, [`grant_type=${encodeURIComponent(grant.grantType)}`], undefined, CLIENT_AUTH));
    });
  }

  test('IN-09 POST /token with any grant_type', async (t) => {
    await fuzz(t, postArb('/token', TOKEN, [], undefined, CLIENT_AUTH));
  });

  test('IN-09 POST /introspect and /revoke', async (t) => {
    const names = ['token', 'token_type_hint'];
    await fuzz(
      t,
      fc.oneof(postArb('/introspect', names, [], undefined, CLIENT_AUTH), postArb('/revoke', names, [], undefined, CLIENT_AUTH)),
    );
  });

  test('IN-09 GET and POST /userinfo', async (t) => {
    await fuzz(t, fc.oneof(getArb('/userinfo', ['access_token', 'schema']), postArb('/userinfo', ['access_token'])));
  });

  test('IN-09 /register and /register/:client_id', async (t) => {
    const names = [
      'client_name',
      'redirect_uris',
      'grant_types',
      'response_types',
      'scope',
      'token_endpoint_auth_method',
      'jwks',
      'jwks_uri',
      'post_logout_redirect_uris',
      'backchannel_logout_uri',
      'default_scope',
      'default_resources',
      'id_token_signed_response_alg',
      'token_exchange_resources',
    ];
    const json: fc.Arbitrary<unknown> = fc.oneof(
      fc.dictionary(
        fc.constantFrom(...names),
        fc.oneof(valueArb(), fc.array(valueArb(), { maxLength: 4 }), fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<unknown>),
        { maxKeys: 8 },
      ),
      fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<unknown>,
    );
    const bearer = fc.constantFrom(
      undefined,
      `Bearer ${fx.initialAccessToken}`,
      `Bearer ${fx.initialAccessToken}x`,
      `Bearer ${fx.dynamic.registrationAccessToken}`,
      'Bearer',
      'Basic abc',
    );
    const request = fc
      .record({
        method: fc.constantFrom('POST', 'GET', 'PUT', 'DELETE'),
        path: fc.constantFrom(
          '/register',
          `/register/${fx.dynamic.clientId}`,
          `/register/${fx.conf.clientId}`,
          '/register/%zz',
          '/register/x%00',
        ),
        body: fc.oneof(
          { weight: 4, arbitrary: json.map((j) => JSON.stringify(j)) },
          { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
        ),
        type: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded', 'text/plain', ''),
        authorization: bearer,
        remoteAddress: addressArb,
      })
      .filter((r) => !(r.method === 'DELETE' && r.authorization === `Bearer ${fx.dynamic.registrationAccessToken}`))
      .map((r): FuzzRequest => {
        const headers: Record<string, string> = {};
        if (r.type) headers['content-type'] = r.type;
        if (r.authorization !== undefined) headers.authorization = r.authorization;
        return {
          method: r.method,
          url: r.path,
          headers,
          ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { payload: r.body }),
          remoteAddress: r.remoteAddress,
        };
      });
    await fuzz(t, request);
  });

  test('IN-09 POST /par', async (t) => {
    await fuzz(t, postArb('/par', AUTHORIZE, [], undefined, CLIENT_AUTH));
  });

  test('IN-09 POST /device_authorization', async (t) => {
    await fuzz(t, postArb('/device_authorization', ['scope', 'resource'], [], undefined, CLIENT_AUTH));
  });

  test('IN-09 the device pages: GET /device and POST /device, /device/login, /device/consent', async (t) => {
    const names = ['csrf_token', 'user_code', 'username', 'password', 'decision'];
    const fixed = () => [`csrf_token=${encodeURIComponent(fx.deviceCsrf)}`];
    const path = fc.constantFrom('/device', '/device/login', '/device/consent');
    await fuzz(
      t,
      fc.oneof(
        getArb('/device', ['user_code']),
        postArb(path, names, [], () => fx.deviceCookie),
        postArb(path, names, fixed(), () => fx.deviceCookie),
      ),
    );
  });

  test('IN-09 GET and POST /end-session', async (t) => {
    const names = ['id_token_hint', 'post_logout_redirect_uri', 'state', 'client_id', 'logout_hint', 'ui_locales', 'csrf_token'];
    await fuzz(t, fc.oneof(getArb('/end-session', names), postArb('/end-session', names)));
  });

  test('IN-09 the login and consent pages: GET /interaction/:id, POST …/login and …/consent', async (t) => {
    const names = ['csrf_token', 'username', 'password', 'decision'];
    const id = fc.oneof(
      fc.constant(fx.interactionId),
      mutate(fx.interactionId),
      fc.string({ maxLength: 20 }).map(encodeURIComponent),
      fc.constantFrom('%zz', '%C3%28', '..'),
    );
    const path = fc.tuple(id, fc.constantFrom('', '/login', '/consent')).map(([i, s]) => `/interaction/${i}${s}`);
    const fixed = () => [`csrf_token=${encodeURIComponent(fx.csrfToken)}`];
    await fuzz(
      t,
      fc.oneof(
        getArb(path, ['x'], [], () => fx.interactionCookie),
        postArb(path, names, [], () => fx.interactionCookie),
        postArb(path, names, fixed(), () => fx.interactionCookie),
      ),
    );
  });

  test('IN-09 the well-known documents and the JWKS', async (t) => {
    const path = fc.constantFrom('/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/jwks', '/.well-known/x');
    await fuzz(t, fc.oneof(getArb(path, ['a']), postArb(path, ['a'])));
  });
});
