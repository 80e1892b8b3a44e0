// SECURITY-CHECKLIST KP-01: secrets kept in the database (private signing keys, TOTP secrets) are
// sealed under an operator's key-encryption key (KEK) with AES-256-GCM (NIST SP 800-38D) via node:crypto.
//
// The KEK is 32 random bytes, written in base64 or base64url (44 or 43 characters), e.g.
//     openssl rand -base64 32
// given in GATEHOUSE_KEY_ENCRYPTION_KEY, or in a file named by --key-encryption-key-file /
// GATEHOUSE_KEY_ENCRYPTION_KEY_FILE (the file holds the same text; surrounding whitespace is ignored).
// The key itself is never a command-line flag: argv is visible to every user of the machine.
// While the KEK is rotated, the former key goes in GATEHOUSE_KEY_ENCRYPTION_KEY_PREVIOUS (or the file
// named by --key-encryption-key-previous-file): values it sealed can still be opened, new values are
// sealed under the current key, and `gatehouse keys rewrap` re-seals everything under the current key.
//
// A sealed value is self-describing text:
//     v1.<kid>.<iv>.<ciphertext>.<tag>        (each part base64url)
// kid names the KEK that sealed it (an HMAC of the key, not the key), iv is 96 random bits per seal,
// tag is the 128-bit GCM tag. The associated data is the version, the kid and the caller's `aad`
// (e.g. the row's id), so a sealed value copied into another row, or relabelled, does not open.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const SEALED_VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const B64URL = /^[A-Za-z0-9_-]+$/;

/** Refused key material or a value that cannot be opened (tampered, other row, unknown or wrong key). */
export class AtRestError extends Error {
  override name = 'AtRestError';
}

export interface KeyEncryptionKey {
  /** Short public name of the key, derived from it: which key sealed a value. */
  readonly kid: string;
  readonly key: Buffer;
}

/** Where the KEKs come from: the environment (the key text) or files (config options). */
export interface KeyEncryptionKeySources {
  keyEncryptionKeyFile?: string;
  keyEncryptionKeyPreviousFile?: string;
}

function kidOf(key: Buffer): string {
  return createHmac('sha256', key).update('gatehouse key-encryption key id').digest().subarray(0, 8).toString('base64url');
}

/** Parses the text form of a KEK (base64 or base64url of exactly 32 bytes). `origin` names it in errors. */
export function parseKeyEncryptionKey(text: string, origin: string): KeyEncryptionKey {
  const trimmed = text.trim();
  const body = trimmed.replace(/=+$/, '');
  const base64 = /^[A-Za-z0-9+/]+$/.test(body);
  if (!(base64 || B64URL.test(body)) || trimmed.length - body.length > 2) {
    throw new AtRestError(`${origin}: not base64 or base64url text; make a key with \`openssl rand -base64 32\``);
  }
  const key = Buffer.from(body.replace(/\+/g, '-').replace(/\//g, '_'), 'base64url');
  if (key.length !== KEY_BYTES) {
    throw new AtRestError(
      `${origin}: the key must be ${KEY_BYTES} bytes (base64 of 32 random bytes, e.g. \`openssl rand -base64 32\`), got ${key.length}`,
    );
  }
  return { kid: kidOf(key), key };
}

function fromFile(path: string, origin: string): KeyEncryptionKey {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AtRestError(`${origin}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseKeyEncryptionKey(text, `${origin} (${path})`);
}

function one(env: NodeJS.ProcessEnv, envName: string, file: string | undefined, fileNames: string): KeyEncryptionKey | undefined {
  const text = env[envName];
  const hasText = text !== undefined && text.trim() !== '';
  const hasFile = file !== undefined && file !== '';
  if (hasText && hasFile) throw new AtRestError(`set either ${envName} or ${fileNames}, not both`);
  if (hasText) return parseKeyEncryptionKey(text, envName);
  if (hasFile) return fromFile(file, fileNames);
  return undefined;
}

/**
 * The sealer for a process: the current KEK (seals and opens) and optionally the previous one (opens
 * only). Without a current key nothing can be sealed: `configured` is false and `protect` keeps
 * plaintext, which the server announces with a warning at start.
 */
export class AtRest {
  readonly current: KeyEncryptionKey | undefined;
  readonly previous: readonly KeyEncryptionKey[];

  constructor(current?: KeyEncryptionKey, previous: readonly KeyEncryptionKey[] = []) {
    if (current === undefined && previous.length > 0) {
      throw new AtRestError('a previous key-encryption key is set without a current one (GATEHOUSE_KEY_ENCRYPTION_KEY)');
    }
    this.current = current;
    this.previous = previous.filter((p) => p.kid !== current?.kid);
  }

  /** Reads GATEHOUSE_KEY_ENCRYPTION_KEY[_PREVIOUS] from `env`, or the files the configuration names. */
  static load(env: NodeJS.ProcessEnv, sources: KeyEncryptionKeySources = {}): AtRest {
    const current = one(
      env,
      'GATEHOUSE_KEY_ENCRYPTION_KEY',
      sources.keyEncryptionKeyFile,
      '--key-encryption-key-file / GATEHOUSE_KEY_ENCRYPTION_KEY_FILE',
    );
    const previous = one(
      env,
      'GATEHOUSE_KEY_ENCRYPTION_KEY_PREVIOUS',
      sources.keyEncryptionKeyPreviousFile,
      '--key-encryption-key-previous-file / GATEHOUSE_KEY_ENCRYPTION_KEY_PREVIOUS_FILE',
    );
    return new AtRest(current, previous === undefined ? [] : [previous]);
  }

  /** Makes a sealer from raw 32-byte keys (tests, tools). */
  static fromKeys(current?: Uint8Array, ...previous: Uint8Array[]): AtRest {
    const wrap = (k: Uint8Array) => {
      if (k.length !== KEY_BYTES) throw new AtRestError(`a key-encryption key is ${KEY_BYTES} bytes`);
      const key = Buffer.from(k);
      return { kid: kidOf(key), key };
    };
    return new AtRest(current && wrap(current), previous.map(wrap));
  }

  get configured(): boolean {
    return this.current !== undefined;
  }

  /** The kid of the current key, or undefined when none is configured. */
  get kid(): string | undefined {
    return this.current?.kid;
  }

  /** True when `value` has the sealed format (it says nothing about whether it opens). */
  isSealed(value: string): boolean {
    return sealedParts(value) !== undefined;
  }

  /** The kid that sealed `value`, or undefined when it is not sealed. */
  sealedBy(value: string): string | undefined {
    return sealedParts(value)?.kid;
  }

  /** True when a configured key (current or previous) has the kid that sealed `value`. */
  canOpen(value: string): boolean {
    const kid = this.sealedBy(value);
    return kid !== undefined && this.keyFor(kid) !== undefined;
  }

  /** Seals `plaintext` under the current key, bound to `aad`. Throws when no key is configured. */
  seal(plaintext: string, aad: string): string {
    const kek = this.current;
    if (kek === undefined) throw new AtRestError('no key-encryption key is configured (GATEHOUSE_KEY_ENCRYPTION_KEY)');
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', kek.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(kek.kid, aad));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [SEALED_VERSION, kek.kid, iv.toString('base64url'), ct.toString('base64url'), tag.toString('base64url')].join('.');
  }

  /** Opens a value sealed for `aad`. Throws AtRestError when it was changed, is for another aad or key. */
  open(sealed: string, aad: string): string {
    const parts = sealedParts(sealed);
    if (parts === undefined) throw new AtRestError('the value is not sealed');
    const kek = this.keyFor(parts.kid);
    if (kek === undefined) {
      throw new AtRestError(
        `the value was sealed under key-encryption key ${parts.kid}, which is not configured (GATEHOUSE_KEY_ENCRYPTION_KEY or _PREVIOUS)`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', kek.key, parts.iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData(parts.kid, aad));
      decipher.setAuthTag(parts.tag);
      return Buffer.concat([decipher.update(parts.ct), decipher.final()]).toString('utf8');
    } catch {
      throw new AtRestError('the sealed value does not open: it was changed, belongs to another row, or the key is wrong');
    }
  }

  /** Seals when a key is configured, else returns the plaintext (the server warned at start). */
  protect(plaintext: string, aad: string): string {
    return this.configured ? this.seal(plaintext, aad) : plaintext;
  }

  /** Opens a sealed value; a value that is not sealed (stored before a key was configured) is returned as is. */
  reveal(value: string, aad: string): string {
    return this.isSealed(value) ? this.open(value, aad) : value;
  }

  /** True when `value` should be (re)written: plaintext, or sealed under a key other than the current one. */
  needsRewrap(value: string): boolean {
    if (!this.configured) return false;
    return this.sealedBy(value) !== this.current!.kid;
  }

  private keyFor(kid: string): KeyEncryptionKey | undefined {
    if (this.current?.kid === kid) return this.current;
    return this.previous.find((p) => p.kid === kid);
  }
}

function associatedData(kid: string, aad: string): Buffer {
  return Buffer.from(`${SEALED_VERSION}.${kid}.${aad}`, 'utf8');
}

function sealedParts(value: string): { kid: string; iv: Buffer; ct: Buffer; tag: Buffer } | undefined {
  if (typeof value !== 'string' || !value.startsWith(`${SEALED_VERSION}.`)) return undefined;
  const parts = value.split('.');
  if (parts.length !== 5) return undefined;
  const [, kid, iv, ct, tag] = parts as [string, string, string, string, string];
  if (![kid, iv, tag].every((p) => B64URL.test(p)) || !(ct === '' || B64URL.test(ct))) return undefined;
  const ivBytes = Buffer.from(iv, 'base64url');
  const tagBytes = Buffer.from(tag, 'base64url');
  if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) return undefined;
  return { kid, iv: ivBytes, ct: Buffer.from(ct, 'base64url'), tag: tagBytes };
}
