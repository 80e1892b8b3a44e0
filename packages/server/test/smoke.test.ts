import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Browser, getCode, startServer, tokenRequest } from './helpers.js';

test('the authorization code flow with PKCE issues tokens through the login and consent pages', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const client = await server.createClient();
  const user = await server.createUser();
  const browser = new Browser(server.app);
  const { code, verifier, location } = await getCode(
    server,
    browser,
    { clientId: client.clientId, redirectUri: client.redirectUri, state: 's1' },
    user,
  );
  assert.equal(location.searchParams.get('state'), 's1');
  assert.equal(location.searchParams.get('iss'), server.issuer);
  const res = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
    client,
  );
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.equal(body.token_type, 'Bearer');
  assert.ok(body.refresh_token);
  assert.ok(body.id_token);
});
