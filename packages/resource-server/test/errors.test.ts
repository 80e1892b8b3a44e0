// RFC 6750 §3 / §3.1 challenges, RFC 6749 §5.2 descriptions, RFC 9728 §5.1 resource_metadata, and the
// scope guard (checklist BR-01, BR-02, BR-03).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AccessTokenError,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  MissingTokenError,
  requireScopes,
  scopesOf,
  TemporarilyUnavailableError,
} from '../src/index.js';
import { rejection } from './helpers.js';

describe('WWW-Authenticate challenges', () => {
  it('BR-01 no credentials: realm only, no error code, and a body without error', () => {
    const error = new MissingTokenError();
    assert.equal(error.wwwAuthenticate({ realm: 'photos' }), 'Bearer realm="photos"');
    assert.equal(error.wwwAuthenticate(), 'Bearer');
    assert.deepEqual(Object.keys(error.toJSON()), ['error_description']);
    assert.equal(error.status, 401);
  });

  it('BR-02 invalid_token: 401 with error and error_description', () => {
    const error = new InvalidTokenError('The access token expired');
    assert.equal(
      error.wwwAuthenticate({ realm: 'photos' }),
      'Bearer realm="photos", error="invalid_token", error_description="The access token expired"',
    );
    assert.deepEqual(error.toJSON(), { error: 'invalid_token', error_description: 'The access token expired' });
  });

  it('BR-03 insufficient_scope: 403 with the required scope in the challenge', () => {
    const error = new InsufficientScopeError(['photos:read', 'photos:write']);
    assert.equal(error.status, 403);
    assert.equal(error.scope, 'photos:read photos:write');
    assert.equal(
      error.wwwAuthenticate({ realm: 'photos' }),
      'Bearer realm="photos", error="insufficient_scope", error_description="The access token does not grant the required scope", scope="photos:read photos:write"',
    );
  });

  it('RFC 9728 §5.1 adds resource_metadata when configured, also without credentials', () => {
    const url = 'https://photos.example/.well-known/oauth-protected-resource';
    assert.equal(
      new MissingTokenError().wwwAuthenticate({ realm: 'photos', resourceMetadata: url }),
      `Bearer realm="photos", resource_metadata="${url}"`,
    );
    assert.match(new InvalidTokenError().wwwAuthenticate({ resourceMetadata: url }) ?? '', /, resource_metadata="https:/);
  });

  it('escapes quotes and backslashes and drops CR/LF in quoted values (no header injection)', () => {
    const challenge = new MissingTokenError().wwwAuthenticate({ realm: 'a"b\\c\r\nSet-Cookie: x=1' });
    assert.equal(challenge, 'Bearer realm="a\\"b\\\\cSet-Cookie: x=1"');
    assert.doesNotMatch(challenge ?? '', /[\r\n]/);
  });

  it('error_description keeps only RFC 6749 §5.2 characters', () => {
    const error = new InvalidTokenError('bad "token" \\ é\n<script>');
    assert.match(error.description, /^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/);
    assert.equal(error.description, 'bad  token      <script>');
    assert.ok(!error.description.includes('"'));
  });

  it('temporarily_unavailable is a 503 without a challenge', () => {
    const error = new TemporarilyUnavailableError();
    assert.equal(error.status, 503);
    assert.equal(error.wwwAuthenticate({ realm: 'x' }), undefined);
    const reply = error.toReply({ realm: 'x' });
    assert.equal(reply.headers['www-authenticate'], undefined);
    assert.equal(reply.headers['cache-control'], 'no-store');
  });

  it('every class has a stable static and instance code, the HTTP status, and is an AccessTokenError', () => {
    const cases = [
      [MissingTokenError, 'missing_token', 401],
      [InvalidRequestError, 'invalid_request', 400],
      [InvalidTokenError, 'invalid_token', 401],
      [TemporarilyUnavailableError, 'temporarily_unavailable', 503],
    ] as const;
    for (const [ErrorClass, code, status] of cases) {
      const error = new ErrorClass();
      assert.equal(ErrorClass.code, code);
      assert.equal(error.code, code);
      assert.equal(error.status, status);
      assert.equal(error.name, ErrorClass.name);
      assert.ok(error instanceof AccessTokenError && error instanceof Error);
    }
    assert.equal(InsufficientScopeError.code, 'insufficient_scope');
  });

  it('the cause stays private: not in toJSON, not in the reply', () => {
    const error = new InvalidTokenError('The access token is invalid', { cause: new Error('eyJsecret-token-content') });
    assert.ok(!JSON.stringify(error.toReply({ realm: 'r' })).includes('secret-token'));
    assert.ok(!JSON.stringify(error).includes('secret-token'));
  });
});

describe('requireScopes', () => {
  const claims = { scope: 'openid photos:read  photos:write' };

  it('passes when every required scope is granted', () => {
    requireScopes(claims, ['photos:read']);
    requireScopes(claims, ['photos:read', 'photos:write']);
    requireScopes(claims, []);
    assert.deepEqual(scopesOf(claims), ['openid', 'photos:read', 'photos:write']);
  });

  it('BR-03 throws insufficient_scope listing the required scopes', async () => {
    const error = await rejection((async () => requireScopes(claims, ['photos:read', 'photos:delete']))());
    assert.ok(error instanceof InsufficientScopeError);
    assert.equal(error.scope, 'photos:read photos:delete');
    assert.deepEqual(error.requiredScopes, ['photos:read', 'photos:delete']);
    assert.throws(() => requireScopes({}, ['photos:read']), InsufficientScopeError);
    assert.throws(() => requireScopes({ scope: 'photos:readx' }, ['photos:read']), InsufficientScopeError);
  });

  it('rejects required scopes that are not scope tokens (a programming error)', () => {
    assert.throws(() => requireScopes(claims, ['two words']), TypeError);
    assert.throws(() => requireScopes(claims, ['quo"te']), TypeError);
  });
});
