// KP-01: the at-rest sealer (oauth/at-rest.ts): AES-256-GCM under the key-encryption key, bound to the
// row it was sealed for, refusing anything changed, moved or opened with another key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AtRest, AtRestError, parseKeyEncryptionKey } from '../src/oauth/at-rest.js';

const keyA = randomBytes(32);
const keyB = randomBytes(32);

test('KP-01 a sealed value opens with the same key and aad, and does not contain the plaintext', () => {
  const atRest = AtRest.fromKeys(keyA);
  const sealed = atRest.seal('{"d":"secret-material"}', 'kid-1');
  assert.ok(atRest.isSealed(sealed));
  assert.match(sealed, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  assert.ok(!sealed.includes('secret-material'));
  assert.equal(atRest.sealedBy(sealed), atRest.kid);
  assert.equal(atRest.open(sealed, 'kid-1'), '{"d":"secret-material"}');
  // A fresh IV every time: the same plaintext never seals to the same text.
  assert.notEqual(atRest.seal('{"d":"secret-material"}', 'kid-1'), sealed);
});

test('KP-01 a tampered sealed value is refused', () => {
  const atRest = AtRest.fromKeys(keyA);
  const sealed = atRest.seal('plaintext value', 'row-1');
  const [v, kid, iv, ct, tag] = sealed.split('.') as [string, string, string, string, string];
  const flip = (part: string) => {
    const bytes = Buffer.from(part, 'base64url');
    bytes[0] = bytes[0]! ^ 1;
    return bytes.toString('base64url');
  };
  for (const changed of [
    [v, kid, flip(iv), ct, tag],
    [v, kid, iv, flip(ct), tag],
    [v, kid, iv, ct, flip(tag)],
  ]) {
    assert.throws(() => atRest.open(changed.join('.'), 'row-1'), AtRestError);
  }
  assert.throws(() => atRest.open(`${v}.${kid}.${iv}.${ct}`, 'row-1'), AtRestError);
});

test('KP-01 a sealed value opened for another row (wrong aad) is refused', () => {
  const atRest = AtRest.fromKeys(keyA);
  const sealed = atRest.seal('plaintext value', 'row-1');
  assert.throws(() => atRest.open(sealed, 'row-2'), AtRestError);
  assert.throws(() => atRest.open(sealed, ''), AtRestError);
});

test('KP-01 a sealed value opened with the wrong key is refused, also when the kid is relabelled', () => {
  const sealed = AtRest.fromKeys(keyA).seal('plaintext value', 'row-1');
  const other = AtRest.fromKeys(keyB);
  assert.throws(() => other.open(sealed, 'row-1'), /not configured/);
  const relabelled = sealed.replace(/^v1\.[^.]+\./, `v1.${other.kid!}.`);
  assert.throws(() => other.open(relabelled, 'row-1'), AtRestError);
  assert.throws(() => new AtRest().open(sealed, 'row-1'), AtRestError);
});

test('KP-01 the previous key opens what it sealed; new values are sealed under the current key', () => {
  const old = AtRest.fromKeys(keyA);
  const sealedOld = old.seal('v', 'row');
  const rotating = AtRest.fromKeys(keyB, keyA);
  assert.equal(rotating.open(sealedOld, 'row'), 'v');
  assert.ok(rotating.needsRewrap(sealedOld));
  const resealed = rotating.seal(rotating.open(sealedOld, 'row'), 'row');
  assert.equal(rotating.sealedBy(resealed), AtRest.fromKeys(keyB).kid);
  assert.ok(!rotating.needsRewrap(resealed));
  assert.throws(() => old.open(resealed, 'row'), AtRestError);
});

test('KP-01 without a key nothing is sealed: protect keeps plaintext and seal refuses', () => {
  const none = new AtRest();
  assert.equal(none.configured, false);
  assert.equal(none.protect('{"d":"x"}', 'row'), '{"d":"x"}');
  assert.equal(none.reveal('{"d":"x"}', 'row'), '{"d":"x"}');
  assert.throws(() => none.seal('x', 'row'), AtRestError);
  assert.ok(!none.isSealed('{"d":"x"}'));
});

test('KP-01 the key-encryption key is read from GATEHOUSE_KEY_ENCRYPTION_KEY or a file, base64 or base64url of 32 bytes', () => {
  const b64 = keyA.toString('base64');
  const fromEnv = AtRest.load({ GATEHOUSE_KEY_ENCRYPTION_KEY: b64 });
  assert.equal(fromEnv.kid, AtRest.fromKeys(keyA).kid);
  assert.equal(AtRest.load({ GATEHOUSE_KEY_ENCRYPTION_KEY: keyA.toString('base64url') }).kid, fromEnv.kid);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-kek-'));
  try {
    const file = join(dir, 'kek');
    writeFileSync(file, `${b64}\n`, { mode: 0o600 });
    assert.equal(AtRest.load({}, { keyEncryptionKeyFile: file }).kid, fromEnv.kid);
    assert.throws(() => AtRest.load({ GATEHOUSE_KEY_ENCRYPTION_KEY: b64 }, { keyEncryptionKeyFile: file }), /not both/);
    assert.throws(() => AtRest.load({}, { keyEncryptionKeyFile: join(dir, 'missing') }), /cannot read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(AtRest.load({}).configured, false);
  assert.throws(() => parseKeyEncryptionKey(randomBytes(16).toString('base64'), 'K'), /32 bytes/);
  assert.throws(() => parseKeyEncryptionKey('not base64 at all!', 'K'), /base64/);
  assert.throws(() => AtRest.load({ GATEHOUSE_KEY_ENCRYPTION_KEY_PREVIOUS: b64 }), /without a current one/);
});
