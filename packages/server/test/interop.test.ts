// Interop: a listening Gatehouse driven by real third-party clients (oauth4webapi, openid-client)
// with a scripted user agent over HTTP.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import * as oidc from 'openid-client';
import { calculateJwkThumbprint, createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { registerClient } from '../src/oauth/clients.js';
import { hashPassword } from '../src/oauth/passwords.js';
import { nowSeconds } from '../src/oauth/crypto.js';
import { deviceCodeGrant } from '../src/oauth/grants/device-code.js';
import { parseForm } from './helpers.js';
import { listen, UserAgent, type ListeningServer } from './user-agent.js';

const REDIRECT = 'http://127.0.0.1:8080/callback';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

describe('interop with oauth4webapi and openid-client', () => {
  let server: ListeningServer;
  let confidential: { id: string; secret: string };
  let publicClient: { id: string };
  const alice = { username: 'alice', password: 'correct horse battery' };

  before(async () => {
    // Strict reuse policy (no grace window), so that the RT-01/RT-02 checks below see a replay revoke at once.
    server = await listen({ GATEHOUSE_REFRESH_REUSE_GRACE: '0' });
    const { storage } = server.deps;
    const now = nowSeconds();
    await storage.users.create({
      id: 'alice-id',
      username: alice.username,
      passwordHash: await hashPassword(alice.password),
      email: 'alice@example.com',
      name: 'Alice Example',
      claims: { email_verified: true },
      disabled: false,
      createdAt: now,
      updatedAt: now,
    });
    const c = await registerClient(
      storage.clients,
      {
        clientName: 'Photo Printer',
        redirectUris: [REDIRECT],
        scope: 'openid profile email offline_access photos:read',
        grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      },
      now,
    );
    confidential = { id: c.client.clientId, secret: c.clientSecret! };
    const p = await registerClient(
      storage.clients,
      { clientName: 'Native App', redirectUris: [REDIRECT], scope: 'openid profile offline_access', isPublic: true },
      now,
    );
    publicClient = { id: p.client.clientId };
  });
  after(() => server.close());

  async function as(): Promise<oauth.AuthorizationServer> {
    const issuer = new URL(server.issuer);
    return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  }

  test('oauth4webapi completes the code flow with PKCE, refreshes with rotation, and reads userinfo', async () => {
    const authServer = await as();
    const client: oauth.Client = { client_id: confidential.id };
    const auth = oauth.ClientSecretBasic(confidential.secret);
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const url = new URL(authServer.authorization_endpoint!);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'openid profile email offline_access photos:read',
      state,
      nonce,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();

    const ua = new UserAgent();
    const callback = await ua.authorize(url.href, REDIRECT, alice);
    assert.ok(
      ua.pages.some((p) => p.html.includes('Photo Printer') && p.html.includes('photos:read')),
      'consent page names client and scope',
    );
    const params = oauth.validateAuthResponse(authServer, client, callback, state); // checks iss too (RFC 9207)
    const response = await oauth.authorizationCodeGrantRequest(authServer, client, auth, params, REDIRECT, verifier, insecure);
    const tokens = await oauth.processAuthorizationCodeResponse(authServer, client, response, {
      expectedNonce: nonce,
      requireIdToken: true,
    });
    assert.equal(tokens.token_type, 'bearer');
    assert.ok(tokens.refresh_token);
    const idClaims = oauth.getValidatedIdTokenClaims(tokens)!;
    assert.equal(idClaims.sub, 'alice-id');
    assert.equal(idClaims.nonce, nonce);

    // The access token verifies against the JWKS as an RFC 9068 token.
    const jwks = createRemoteJWKSet(new URL(authServer.jwks_uri!));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
      issuer: server.issuer,
      typ: 'at+jwt',
      audience: server.issuer,
    });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.client_id, client.client_id);
    assert.equal(payload.scope, 'openid profile email offline_access photos:read');

    const info = await oauth.processUserInfoResponse(
      authServer,
      client,
      idClaims.sub,
      await oauth.userInfoRequest(authServer, client, tokens.access_token, insecure),
    );
    assert.equal(info.email, 'alice@example.com');
    assert.equal(info.name, 'Alice Example');

    const refreshed = await oauth.processRefreshTokenResponse(
      authServer,
      client,
      await oauth.refreshTokenGrantRequest(authServer, client, auth, tokens.refresh_token!, insecure),
    );
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    // RT-01: the rotated token is dead.
    await assert.rejects(
      oauth.processRefreshTokenResponse(
        authServer,
        client,
        await oauth.refreshTokenGrantRequest(authServer, client, auth, tokens.refresh_token!, insecure),
      ),
      (e: unknown) => e instanceof oauth.ResponseBodyError && e.error === 'invalid_grant',
    );
    // RT-02: ... and its replay revoked the family, including the newest token.
    await assert.rejects(
      oauth.processRefreshTokenResponse(
        authServer,
        client,
        await oauth.refreshTokenGrantRequest(authServer, client, auth, refreshed.refresh_token!, insecure),
      ),
      (e: unknown) => e instanceof oauth.ResponseBodyError && e.error === 'invalid_grant',
    );
  });

  test('oauth4webapi gets a client_credentials token with no refresh token', async () => {
    const authServer = await as();
    const client: oauth.Client = { client_id: confidential.id };
    const response = await oauth.clientCredentialsGrantRequest(
      authServer,
      client,
      oauth.ClientSecretBasic(confidential.secret),
      new URLSearchParams({ scope: 'photos:read' }),
      insecure,
    );
    const result = await oauth.processClientCredentialsResponse(authServer, client, response);
    assert.equal(result.scope, 'photos:read');
    assert.equal(result.refresh_token, undefined);
    const request = new Request('http://api.example/photos', { headers: { authorization: `Bearer ${result.access_token}` } });
    const claims = await oauth.validateJwtAccessToken(authServer, request, server.issuer, insecure);
    assert.equal(claims.sub, confidential.id);
  });

  test('a public client (token_endpoint_auth_method none) completes the flow with PKCE', async () => {
    const authServer = await as();
    const client: oauth.Client = { client_id: publicClient.id, token_endpoint_auth_method: 'none' };
    const verifier = oauth.generateRandomCodeVerifier();
    const url = new URL(authServer.authorization_endpoint!);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'openid offline_access',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();
    const callback = await new UserAgent().authorize(url.href, REDIRECT, alice);
    const params = oauth.validateAuthResponse(authServer, client, callback, oauth.expectNoState);
    const tokens = await oauth.processAuthorizationCodeResponse(
      authServer,
      client,
      await oauth.authorizationCodeGrantRequest(authServer, client, oauth.None(), params, REDIRECT, verifier, insecure),
    );
    assert.ok(tokens.refresh_token);
  });

  test('the user denies: oauth4webapi sees access_denied with state and iss', async () => {
    const authServer = await as();
    const client: oauth.Client = { client_id: confidential.id };
    const state = oauth.generateRandomState();
    const url = new URL(authServer.authorization_endpoint!);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'openid photos:read',
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
      code_challenge_method: 'S256',
      prompt: 'consent',
    }).toString();
    const callback = await new UserAgent().authorize(url.href, REDIRECT, alice, 'deny');
    assert.throws(
      () => oauth.validateAuthResponse(authServer, client, callback, state),
      (e: unknown) => e instanceof oauth.AuthorizationResponseError && e.error === 'access_denied',
    );
  });

  test('openid-client discovers the OpenID Provider, validates the ID token and fetches userinfo', async () => {
    const config = await oidc.discovery(new URL(server.issuer), confidential.id, undefined, oidc.ClientSecretBasic(confidential.secret), {
      execute: [oidc.allowInsecureRequests],
    });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile email',
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const callback = await new UserAgent().authorize(url.href, REDIRECT, alice);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    assert.equal(claims.iss, server.issuer);
    assert.equal(claims.aud, confidential.id);
    assert.equal(claims.email, 'alice@example.com');
    assert.ok(typeof claims.auth_time === 'number');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.name, 'Alice Example');
    // The ID token verifies against the published JWKS with the default RS256.
    const { protectedHeader } = await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${server.issuer}/jwks`)), {
      issuer: server.issuer,
      audience: confidential.id,
    });
    assert.equal(protectedHeader.alg, 'RS256');
  });

  test('PR-01 PJ-01 oauth4webapi pushes the request with PrivateKeyJwt, completes the flow, introspects and revokes with assertions', async () => {
    const authServer = await as();
    assert.equal(authServer.pushed_authorization_request_endpoint, `${server.issuer}/par`);
    assert.ok(authServer.token_endpoint_auth_methods_supported?.includes('private_key_jwt'));
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'interop-1', use: 'sig' };
    const registered = await registerClient(
      server.deps.storage.clients,
      {
        clientName: 'Key Holder',
        redirectUris: [REDIRECT],
        scope: 'openid profile offline_access photos:read',
        authMethod: 'private_key_jwt',
        jwks: { keys: [jwk] },
        grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
        requirePushedAuthorizationRequests: true,
      },
      nowSeconds(),
    );
    assert.equal(registered.clientSecret, undefined);
    const client: oauth.Client = { client_id: registered.client.clientId, token_endpoint_auth_method: 'private_key_jwt' };
    const auth = oauth.PrivateKeyJwt({ key: privateKey, kid: 'interop-1' });

    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const parResponse = await oauth.pushedAuthorizationRequest(
      authServer,
      client,
      auth,
      {
        redirect_uri: REDIRECT,
        response_type: 'code',
        scope: 'openid profile offline_access',
        state,
        nonce,
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      },
      insecure,
    );
    const pushed = await oauth.processPushedAuthorizationResponse(authServer, client, parResponse);
    assert.equal(pushed.expires_in, 60);
    const url = new URL(authServer.authorization_endpoint!);
    url.search = new URLSearchParams({ client_id: client.client_id, request_uri: pushed.request_uri }).toString();
    const callback = await new UserAgent().authorize(url.href, REDIRECT, alice);
    const params = oauth.validateAuthResponse(authServer, client, callback, state);
    const tokens = await oauth.processAuthorizationCodeResponse(
      authServer,
      client,
      await oauth.authorizationCodeGrantRequest(authServer, client, auth, params, REDIRECT, verifier, insecure),
      { expectedNonce: nonce, requireIdToken: true },
    );
    assert.equal(oauth.getValidatedIdTokenClaims(tokens)!.sub, 'alice-id');

    // The request_uri was single-use: the browser cannot start again with it.
    const again = await fetch(url, { redirect: 'manual' });
    assert.equal(again.status, 400);
    assert.match(again.headers.get('content-type') ?? '', /^text\/html/);

    // Refresh, introspection and revocation authenticate with fresh assertions too.
    const refreshed = await oauth.processRefreshTokenResponse(
      authServer,
      client,
      await oauth.refreshTokenGrantRequest(authServer, client, auth, tokens.refresh_token!, insecure),
    );
    const introspection = await oauth.processIntrospectionResponse(
      authServer,
      client,
      await oauth.introspectionRequest(authServer, client, auth, refreshed.access_token, insecure),
    );
    assert.equal(introspection.active, true);
    assert.equal(introspection.client_id, client.client_id);
    await oauth.processRevocationResponse(await oauth.revocationRequest(authServer, client, auth, refreshed.access_token, insecure));
    const after = await oauth.processIntrospectionResponse(
      authServer,
      client,
      await oauth.introspectionRequest(authServer, client, auth, refreshed.access_token, insecure),
    );
    assert.equal(after.active, false);

    // Without PAR this client is refused (it registered require_pushed_authorization_requests).
    const plain = new URL(authServer.authorization_endpoint!);
    plain.search = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'openid',
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();
    const refused = await fetch(plain, { redirect: 'manual' });
    assert.equal(refused.status, 303);
    assert.throws(
      () => oauth.validateAuthResponse(authServer, client, new URL(refused.headers.get('location')!), state),
      (e: unknown) => e instanceof oauth.AuthorizationResponseError && e.error === 'invalid_request',
    );

    // A client_credentials request whose assertion names the token endpoint as audience is refused (CA-07).
    const wrongAud = oauth.PrivateKeyJwt(
      { key: privateKey, kid: 'interop-1' },
      {
        [oauth.modifyAssertion]: (_h, payload) => {
          payload.aud = authServer.token_endpoint;
        },
      },
    );
    await assert.rejects(
      oauth.processClientCredentialsResponse(
        authServer,
        client,
        await oauth.clientCredentialsGrantRequest(authServer, client, wrongAud, new URLSearchParams({ scope: 'photos:read' }), insecure),
      ),
      (e: unknown) => e instanceof oauth.ResponseBodyError && e.error === 'invalid_client' && e.status === 401,
    );
  });

  test('DP-01 DP-02 oauth4webapi drives code, refresh and userinfo with DPoP; the bound token is refused as Bearer', async () => {
    const authServer = await as();
    assert.ok(authServer.dpop_signing_alg_values_supported?.includes('ES256'));
    const client: oauth.Client = { client_id: publicClient.id, token_endpoint_auth_method: 'none' };
    const keyPair = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(client, keyPair);
    const verifier = oauth.generateRandomCodeVerifier();
    const url = new URL(authServer.authorization_endpoint!);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'openid offline_access',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      dpop_jkt: await calculateJwkThumbprint(await exportJWK(keyPair.publicKey)),
    }).toString();
    const callback = await new UserAgent().authorize(url.href, REDIRECT, alice);
    const params = oauth.validateAuthResponse(authServer, client, callback, oauth.expectNoState);
    const tokens = await oauth.processAuthorizationCodeResponse(
      authServer,
      client,
      await oauth.authorizationCodeGrantRequest(authServer, client, oauth.None(), params, REDIRECT, verifier, { ...insecure, DPoP }),
    );
    assert.equal(tokens.token_type, 'dpop');
    const jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey));
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(authServer.jwks_uri!)), { issuer: server.issuer });
    assert.deepEqual(payload.cnf, { jkt });

    const info = await oauth.processUserInfoResponse(
      authServer,
      client,
      oauth.skipSubjectCheck,
      await oauth.userInfoRequest(authServer, client, tokens.access_token, { ...insecure, DPoP }),
    );
    assert.equal(info.sub, 'alice-id');
    // DP-02: the same token as a bearer token is refused with a DPoP challenge.
    const asBearer = await fetch(authServer.userinfo_endpoint!, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(asBearer.status, 401);
    assert.match(asBearer.headers.get('www-authenticate') ?? '', /^DPoP .*error="invalid_token"/);

    const refreshed = await oauth.processRefreshTokenResponse(
      authServer,
      client,
      await oauth.refreshTokenGrantRequest(authServer, client, oauth.None(), tokens.refresh_token!, { ...insecure, DPoP }),
    );
    assert.equal(refreshed.token_type, 'dpop');
    // DP-02: the public client's refresh token is bound; another key cannot use it.
    const otherDPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    await assert.rejects(
      oauth.processRefreshTokenResponse(
        authServer,
        client,
        await oauth.refreshTokenGrantRequest(authServer, client, oauth.None(), refreshed.refresh_token!, { ...insecure, DPoP: otherDPoP }),
      ),
      (e: unknown) => e instanceof oauth.ResponseBodyError && e.error === 'invalid_grant',
    );
  });

  test('DP-01 openid-client drives the code flow, userinfo and a refresh with DPoP (randomDPoPKeyPair)', async () => {
    const config = await oidc.discovery(new URL(server.issuer), confidential.id, undefined, oidc.ClientSecretBasic(confidential.secret), {
      execute: [oidc.allowInsecureRequests],
    });
    const DPoP = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid email offline_access',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const callback = await new UserAgent().authorize(url.href, REDIRECT, alice);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }, undefined, {
      DPoP,
    });
    assert.equal(tokens.token_type, 'dpop');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub, { DPoP });
    assert.equal(info.email, 'alice@example.com');
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP });
    assert.equal(refreshed.token_type, 'dpop');
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  });
});

describe('the resource-server library accepts Gatehouse tokens', () => {
  let server: ListeningServer;
  before(async () => {
    server = await listen({ GATEHOUSE_ACCESS_TOKEN_AUDIENCE: 'https://api.example' });
  });
  after(() => server.close());

  test('RS-01 a client_credentials token verifies through discovery and the JWKS, and is revoked through introspection', async () => {
    const { createVerifier, InvalidTokenError, InsufficientScopeError } = await import('@gatehouse/resource-server');
    const now = nowSeconds();
    const { client, clientSecret } = await registerClient(
      server.deps.storage.clients,
      {
        clientName: 'Worker',
        redirectUris: [],
        grantTypes: ['client_credentials'],
        scope: 'photos:read',
        defaultScope: 'photos:read',
      },
      now,
    );
    const basicAuth = `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString('base64')}`;
    const tokenRes = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { authorization: basicAuth, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const { access_token: token } = (await tokenRes.json()) as { access_token: string };

    const local = createVerifier({ issuer: server.issuer, audience: 'https://api.example', allowInsecureRequests: true });
    const claims = await local(new Request('https://api.example/photos', { headers: { authorization: `Bearer ${token}` } }), {
      scopes: ['photos:read'],
    });
    assert.equal(claims.client_id, client.clientId);
    await assert.rejects(local(token, { scopes: ['photos:write'] }), InsufficientScopeError);
    const otherApi = createVerifier({ issuer: server.issuer, audience: 'https://other.example', allowInsecureRequests: true });
    await assert.rejects(otherApi(token), InvalidTokenError);

    // Introspection mode sees revocation; the client is its own introspecting party here.
    const introspecting = createVerifier({
      issuer: server.issuer,
      audience: 'https://api.example',
      allowInsecureRequests: true,
      introspection: { clientId: client.clientId, clientSecret: clientSecret!, cacheTtlSeconds: 1 },
    });
    assert.equal((await introspecting(token)).sub, client.clientId);
    await fetch(`${server.issuer}/revoke`, {
      method: 'POST',
      headers: { authorization: basicAuth, 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${token}`,
    });
    const fresh = createVerifier({
      issuer: server.issuer,
      audience: 'https://api.example',
      allowInsecureRequests: true,
      introspection: { clientId: client.clientId, clientSecret: clientSecret!, cacheTtlSeconds: 1 },
    });
    await assert.rejects(fresh(token), InvalidTokenError);
  });
});

describe('interop: the device authorization grant (RFC 8628) with oauth4webapi and openid-client', () => {
  let server: ListeningServer;
  let tv: { id: string; secret: string };
  let publicTv: { id: string };
  const bob = { username: 'bob', password: 'bob device password' };

  before(async () => {
    // A 1 s interval keeps real-time polling short.
    server = await listen({ GATEHOUSE_DEVICE_CODE_INTERVAL: '1' });
    const { storage } = server.deps;
    const now = nowSeconds();
    await storage.users.create({
      id: 'bob-id',
      username: bob.username,
      passwordHash: await hashPassword(bob.password),
      email: 'bob@example.com',
      name: 'Bob Example',
      claims: {},
      disabled: false,
      createdAt: now,
      updatedAt: now,
    });
    const c = await registerClient(
      storage.clients,
      {
        clientName: 'Living Room TV',
        redirectUris: [],
        scope: 'openid profile offline_access',
        grantTypes: [deviceCodeGrant.grantType, 'refresh_token'],
      },
      now,
    );
    tv = { id: c.client.clientId, secret: c.clientSecret! };
    const p = await registerClient(
      storage.clients,
      { clientName: 'Public TV', redirectUris: [], scope: 'openid', isPublic: true, grantTypes: [deviceCodeGrant.grantType] },
      now,
    );
    publicTv = { id: p.client.clientId };
  });
  after(() => server.close());

  /** A person opens verification_uri_complete, signs in and presses Allow, over real HTTP. */
  async function approve(verificationUriComplete: string, pages: string[] = []): Promise<void> {
    const ua = new UserAgent();
    let res = await ua.fetch(verificationUriComplete);
    let html = await res.text();
    assert.equal(res.status, 200, html);
    for (let step = 0; step < 4; step++) {
      pages.push(html);
      const f = parseForm(html);
      const action = new URL(f.action, verificationUriComplete).href;
      if ('password' in f.fields) res = await ua.fetch(action, { form: { ...f.fields, username: bob.username, password: bob.password } });
      else if (f.buttons.some((b) => b.name === 'decision')) res = await ua.fetch(action, { form: { ...f.fields, decision: 'allow' } });
      else res = await ua.fetch(action, { form: f.fields });
      html = await res.text();
      assert.equal(res.status, 200, html.slice(0, 300));
      if (/Device connected/.test(html)) return;
    }
    throw new Error('the device pages did not finish');
  }

  test('DV-01 oauth4webapi starts a device authorization, polls through authorization_pending and slow_down, and gets tokens once', async () => {
    const issuer = new URL(server.issuer);
    const authServer = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }),
    );
    assert.equal(authServer.device_authorization_endpoint, `${server.issuer}/device_authorization`);
    const client: oauth.Client = { client_id: tv.id };
    const auth = oauth.ClientSecretBasic(tv.secret);
    const started = await oauth.processDeviceAuthorizationResponse(
      authServer,
      client,
      await oauth.deviceAuthorizationRequest(authServer, client, auth, { scope: 'openid profile offline_access' }, insecure),
    );
    assert.match(started.user_code, /^[A-Z]{4}-[A-Z]{4}$/);
    assert.equal(started.interval, 1);

    const pollOnce = async () =>
      oauth.processDeviceCodeResponse(
        authServer,
        client,
        await oauth.deviceCodeGrantRequest(authServer, client, auth, started.device_code, insecure),
      );
    const errorOf = async (p: Promise<unknown>) =>
      p.then(
        () => 'tokens',
        (e: unknown) => (e instanceof oauth.ResponseBodyError ? e.error : String(e)),
      );

    // Too fast: the second immediate poll is slow_down, so the interval becomes 1 + 5 s.
    assert.equal(await errorOf(pollOnce()), 'authorization_pending');
    assert.equal(await errorOf(pollOnce()), 'slow_down');
    let interval = (started.interval ?? 5) + 5;

    const pages: string[] = [];
    await approve(started.verification_uri_complete!, pages);
    assert.ok(
      pages.some((p) => p.includes('Living Room TV') && p.includes(started.user_code)),
      'the confirmation names the client and shows the code',
    );

    let tokens: oauth.TokenEndpointResponse | undefined;
    for (let attempt = 0; attempt < 5 && !tokens; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, interval * 1000));
      try {
        tokens = await pollOnce();
      } catch (e) {
        if (!(e instanceof oauth.ResponseBodyError)) throw e;
        if (e.error === 'slow_down') interval += 5;
        else if (e.error !== 'authorization_pending') throw e;
      }
    }
    assert.ok(tokens, 'tokens after approval');
    assert.ok(tokens.refresh_token);
    const claims = oauth.getValidatedIdTokenClaims(tokens)!;
    assert.equal(claims.sub, 'bob-id');
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(authServer.jwks_uri!)), {
      issuer: server.issuer,
      typ: 'at+jwt',
    });
    assert.equal(payload.client_id, tv.id);
    assert.equal(await errorOf(pollOnce()), 'invalid_grant', 'a device code is redeemed once');
  });

  test("DV-01 openid-client polls a public client's device authorization to the end", async () => {
    const config = await oidc.discovery(new URL(server.issuer), publicTv.id, undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });
    const polling = oidc.pollDeviceAuthorizationGrant(config, started);
    await approve(started.verification_uri_complete!);
    const tokens = await polling;
    assert.equal(tokens.claims()?.sub, 'bob-id');
    assert.equal(tokens.refresh_token, undefined);
  });
});
