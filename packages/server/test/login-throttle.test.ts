// UI-06 (RFC 6819 §4.4.3.6, §5.1.4.2): per-key lock after N failures, doubling locks, success clears —
// the fixed-lock throttle that device user-code guesses use (interaction/guess-throttle.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuessThrottle as LoginThrottle } from '../src/interaction/guess-throttle.js';

const T0 = 1_700_000_000;

test('UI-06 a key locks after maxFailures failures and unlocks after lockSeconds', () => {
  const th = new LoginThrottle({ maxFailures: 3, lockSeconds: 60 });
  const keys = ['user:alice'];
  th.recordFailure(keys, T0);
  th.recordFailure(keys, T0);
  assert.equal(th.retryAfter(keys, T0), 0, 'not locked before the limit');
  th.recordFailure(keys, T0);
  assert.equal(th.retryAfter(keys, T0), 60);
  assert.equal(th.retryAfter(keys, T0 + 59), 1);
  assert.equal(th.retryAfter(keys, T0 + 60), 0);
});

test('UI-06 a lock on any one of the keys blocks the attempt (account or IP)', () => {
  const th = new LoginThrottle({ maxFailures: 2, lockSeconds: 30 });
  th.recordFailure(['user:alice', 'ip:10.0.0.1'], T0);
  th.recordFailure(['user:alice', 'ip:10.0.0.2'], T0);
  assert.equal(th.retryAfter(['user:alice', 'ip:10.0.0.3'], T0), 30, 'the account is locked whatever the IP');
  assert.equal(th.retryAfter(['user:bob', 'ip:10.0.0.1'], T0), 0, 'each IP saw one failure only');
  th.recordFailure(['user:carol', 'ip:10.0.0.9'], T0);
  th.recordFailure(['user:dave', 'ip:10.0.0.9'], T0);
  assert.equal(th.retryAfter(['user:erin', 'ip:10.0.0.9'], T0), 30, 'the IP is locked whatever the account');
});

test('UI-06 each further lock doubles, capped at a day', () => {
  const th = new LoginThrottle({ maxFailures: 1, lockSeconds: 60 });
  const k = ['user:alice'];
  let now = T0;
  const waits: number[] = [];
  for (let i = 0; i < 15; i++) {
    th.recordFailure(k, now);
    const w = th.retryAfter(k, now);
    waits.push(w);
    now += w;
  }
  assert.deepEqual(waits.slice(0, 4), [60, 120, 240, 480]);
  assert.equal(Math.max(...waits), 86400);
});

test('UI-06 a success clears the account key', () => {
  const th = new LoginThrottle({ maxFailures: 3, lockSeconds: 60 });
  th.recordFailure(['user:alice'], T0);
  th.recordFailure(['user:alice'], T0);
  th.recordSuccess('user:alice');
  th.recordFailure(['user:alice'], T0);
  th.recordFailure(['user:alice'], T0);
  assert.equal(th.retryAfter(['user:alice'], T0), 0, 'the count restarted after the success');
});

test('failures older than the window are forgotten', () => {
  const th = new LoginThrottle({ maxFailures: 3, lockSeconds: 60, windowSeconds: 100 });
  th.recordFailure(['k'], T0);
  th.recordFailure(['k'], T0);
  th.recordFailure(['k'], T0 + 101);
  assert.equal(th.retryAfter(['k'], T0 + 101), 0);
  th.recordFailure(['k'], T0 + 102);
  th.recordFailure(['k'], T0 + 103);
  assert.equal(th.retryAfter(['k'], T0 + 103), 60);
});

test('memory is bounded: the oldest entries are evicted beyond maxEntries', () => {
  const th = new LoginThrottle({ maxFailures: 1, lockSeconds: 60, maxEntries: 10 });
  for (let i = 0; i < 50; i++) th.recordFailure([`ip:${i}`], T0);
  assert.equal(th.retryAfter(['ip:0'], T0), 0, 'evicted');
  assert.equal(th.retryAfter(['ip:49'], T0), 60, 'recent entries kept');
});
