// Client secrets are 256-bit random values stored as SHA-256 digests, compared in constant time. An
// unknown client is compared against a dummy digest, so both paths do the same work (CA-03).
import type { Client } from '../../storage/index.js';
import { digestsEqual, sha256 } from '../crypto.js';
import type { Presented } from './types.js';

const DUMMY_DIGEST = sha256('gatehouse-unknown-client');

export function secretMatches(presented: Presented, client: Client | undefined): boolean {
  const matches = digestsEqual(sha256(presented.secret ?? ''), client?.secretHash ?? DUMMY_DIGEST);
  return client !== undefined && client.secretHash !== null && matches;
}
