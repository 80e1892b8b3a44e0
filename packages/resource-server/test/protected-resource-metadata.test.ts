// RFC 9728 §2 (the metadata document) and §3.1 (its well-known URL).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { protectedResourceMetadata, protectedResourceMetadataUrl } from '../src/index.js';

describe('RFC 9728 protected-resource metadata', () => {
  it('builds the document with snake_case members', () => {
    assert.deepEqual(
      protectedResourceMetadata({
        resource: 'https://photos.example/api',
        authorizationServers: ['https://as.example'],
        scopesSupported: ['photos:read', 'photos:write'],
        resourceName: 'Photos',
        resourceDocumentation: 'https://photos.example/docs',
      }),
      {
        resource: 'https://photos.example/api',
        bearer_methods_supported: ['header', 'body'],
        authorization_servers: ['https://as.example'],
        scopes_supported: ['photos:read', 'photos:write'],
        resource_name: 'Photos',
        resource_documentation: 'https://photos.example/docs',
      },
    );
  });

  it('never advertises the query as a bearer method, and validates URLs and scopes', () => {
    assert.throws(
      () => protectedResourceMetadata({ resource: 'https://a.example', bearerMethodsSupported: ['query' as 'header'] }),
      TypeError,
    );
    assert.throws(() => protectedResourceMetadata({ resource: 'http://a.example' }), TypeError);
    assert.throws(() => protectedResourceMetadata({ resource: 'https://a.example#frag' }), TypeError);
    assert.throws(() => protectedResourceMetadata({ resource: 'https://a.example', scopesSupported: ['a b'] }), TypeError);
    assert.throws(
      () => protectedResourceMetadata({ resource: 'https://a.example', authorizationServers: ['ftp://as.example'] }),
      TypeError,
    );
    assert.equal(protectedResourceMetadata({ resource: 'http://127.0.0.1:4000' }).resource, 'http://127.0.0.1:4000');
  });

  it('§3.1 inserts the well-known path between host and path', () => {
    assert.equal(protectedResourceMetadataUrl('https://photos.example'), 'https://photos.example/.well-known/oauth-protected-resource');
    assert.equal(
      protectedResourceMetadataUrl('https://photos.example/api/v1'),
      'https://photos.example/.well-known/oauth-protected-resource/api/v1',
    );
  });
});
