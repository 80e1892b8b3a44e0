// oauth/crypto.ts draws random bytes from a pooled CSPRNG buffer: every token must still be fresh,
// full-length and never share bytes with another, across the pool's refills.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytesFromPool, randomToken } from '../src/oauth/crypto.js';

test('pooled random tokens are 256-bit base64url values, all different, across several pool refills', () => {
  const seen = new Set<string>();
  const chunks = new Set<string>();
  // 32 bytes each: 1,000 tokens use the 4 KiB pool about eight times over.
  for (let i = 0; i < 1000; i++) {
    const token = randomToken();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    const bytes = Buffer.from(token, 'base64url');
    assert.equal(bytes.length, 32);
    assert.ok(!seen.has(token), 'a token was handed out twice');
    seen.add(token);
    // No 8-byte window of one token appears in another (bytes are never handed out twice).
    for (let at = 0; at + 8 <= 32; at += 8) {
      const chunk = bytes.subarray(at, at + 8).toString('hex');
      assert.ok(!chunks.has(chunk), 'random bytes were reused');
      chunks.add(chunk);
    }
  }
});

test('pooled random bytes of other sizes keep their length and are copies the pool cannot change later', () => {
  const iv = randomBytesFromPool(12);
  const kept = Buffer.from(iv);
  for (let i = 0; i < 500; i++) randomToken(); // refills the pool in place
  assert.equal(iv.length, 12);
  assert.deepEqual(iv, kept);
  assert.equal(Buffer.from(randomToken(16), 'base64url').length, 16);
  assert.equal(randomBytesFromPool(10_000).length, 10_000);
  assert.notDeepEqual(randomBytesFromPool(32), randomBytesFromPool(32));
});
