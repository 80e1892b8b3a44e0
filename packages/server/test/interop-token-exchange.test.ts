// Interop: oauth4webapi drives token exchange (RFC 8693) against a listening Gatehouse through its
// grant-agnostic genericTokenEndpointRequest: the user signs in to an app, whose API back end
// exchanges the user's token for one meant for another API; the new token verifies against the
// JWKS with the back end as actor.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { registerClient } from '../src/oauth/clients.js';
import { hashPassword } from '../src/oauth/passwords.js';
import { nowSeconds } from '../src/oauth/crypto.js';
import { ACCESS_TOKEN_TYPE, tokenExchangeGrant } from '../src/oauth/grants/token-exchange.js';
import { registerResource } from '../src/oauth/resources.js';
import { listen, UserAgent, type ListeningServer } from './user-agent.js';

const REDIRECT = 'http://127.0.0.1:8080/callback';
const PHOTOS = 'https://photos.example/api';
const PRINT = 'https://print.example/api';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

describe('interop: token exchange with oauth4webapi', () => {
  let server: ListeningServer;
  let app: { id: string; secret: string };
  let backEnd: { id: string; secret: string };
  const alice = { username: 'alice', password: 'correct horse battery' };

  before(async () => {
    server = await listen();
    const { storage } = server.deps;
    const now = nowSeconds();
    await storage.users.create({
      id: 'alice-id',
      username: alice.username,
      passwordHash: await hashPassword(alice.password),
      email: 'alice@example.com',
      name: 'Alice Example',
      claims: {},
      disabled: false,
      createdAt: now,
      updatedAt: now,
    });
    await registerResource(storage, { uri: PHOTOS, name: 'Photo Library', scopes: ['photos:read'] }, now);
    await registerResource(storage, { uri: PRINT, name: 'Print Shop', scopes: ['photos:read', 'print'] }, now);
    const a = await registerClient(
      storage.clients,
      { clientName: 'Photo App', redirectUris: [REDIRECT], scope: 'openid photos:read', grantTypes: ['authorization_code'] },
      now,
    );
    app = { id: a.client.clientId, secret: a.clientSecret! };
    const b = await registerClient(
      storage.clients,
      {
        clientName: 'Photo Library back end',
        redirectUris: [],
        scope: '',
        grantTypes: [tokenExchangeGrant.grantType],
        tokenExchangeResources: [PRINT],
      },
      now,
    );
    backEnd = { id: b.client.clientId, secret: b.clientSecret! };
  });
  after(() => server.close());

  test('TX-01 oauth4webapi exchanges a user’s access token through genericTokenEndpointRequest; the new token names the actor', async () => {
    const issuer = new URL(server.issuer);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    assert.ok(as.grant_types_supported?.includes(tokenExchangeGrant.grantType));

    // The user signs in to the app, which gets a token for the photo library.
    const appClient: oauth.Client = { client_id: app.id };
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint!);
    url.search = new URLSearchParams({
      client_id: app.id,
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'photos:read',
      resource: PHOTOS,
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();
    const callback = await new UserAgent().authorize(url.href, REDIRECT, alice);
    const params = oauth.validateAuthResponse(as, appClient, callback, state);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      appClient,
      await oauth.authorizationCodeGrantRequest(as, appClient, oauth.ClientSecretBasic(app.secret), params, REDIRECT, verifier, insecure),
    );

    // The photo library's back end exchanges it for a token for the print shop.
    const backEndClient: oauth.Client = { client_id: backEnd.id };
    const response = await oauth.genericTokenEndpointRequest(
      as,
      backEndClient,
      oauth.ClientSecretBasic(backEnd.secret),
      tokenExchangeGrant.grantType,
      new URLSearchParams({ subject_token: tokens.access_token, subject_token_type: ACCESS_TOKEN_TYPE, resource: PRINT }),
      insecure,
    );
    const exchanged = await oauth.processGenericTokenEndpointResponse(as, backEndClient, response);
    assert.equal(exchanged.token_type, 'bearer');
    assert.equal(exchanged.issued_token_type, ACCESS_TOKEN_TYPE);
    assert.equal(exchanged.refresh_token, undefined);
    const { payload } = await jwtVerify(exchanged.access_token, createRemoteJWKSet(new URL(as.jwks_uri!)), {
      issuer: server.issuer,
      audience: PRINT,
      typ: 'at+jwt',
    });
    assert.equal(payload.sub, 'alice-id');
    assert.equal(payload.client_id, backEnd.id);
    assert.deepEqual(payload.act, { sub: backEnd.id, client_id: backEnd.id });
    assert.equal(payload.scope, 'photos:read');

    // A resource outside the back end's policy: oauth4webapi sees the RFC error.
    const refused = await oauth.genericTokenEndpointRequest(
      as,
      backEndClient,
      oauth.ClientSecretBasic(backEnd.secret),
      tokenExchangeGrant.grantType,
      new URLSearchParams({ subject_token: tokens.access_token, subject_token_type: ACCESS_TOKEN_TYPE, resource: PHOTOS }),
      insecure,
    );
    await assert.rejects(
      oauth.processGenericTokenEndpointResponse(as, backEndClient, refused),
      (e: unknown) => e instanceof oauth.ResponseBodyError && e.error === 'invalid_target',
    );
  });
});
