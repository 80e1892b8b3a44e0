// The in-memory session store: expiry, bounds, single-use pending logins, id rotation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_PENDING_LOGINS, PENDING_LOGIN_TTL_MS, SessionStore } from '../src/session-store.js';

function store(options: { ttlMs?: number; maxSessions?: number } = {}) {
  let now = 1_000_000;
  const sessions = new SessionStore({ ttlMs: options.ttlMs ?? 60_000, maxSessions: options.maxSessions ?? 100, now: () => now });
  return { sessions, advance: (ms: number) => (now += ms), now: () => now };
}

const login = (state: string, createdAt: number) => ({ state, nonce: `n-${state}`, codeVerifier: `v-${state}`, createdAt });

test('session ids are 256-bit random base64url strings', () => {
  const { sessions } = store();
  const a = sessions.create();
  const b = sessions.create();
  assert.match(a.id, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a.id, b.id);
  sessions.close();
});

test('an idle session expires', () => {
  const { sessions, advance } = store({ ttlMs: 1000 });
  const session = sessions.create();
  advance(999);
  assert.equal(sessions.get(session.id), session, 'use refreshes the idle timer');
  advance(1001);
  assert.equal(sessions.get(session.id), undefined);
  sessions.close();
});

test('the number of sessions is bounded: the oldest goes first', () => {
  const { sessions } = store({ maxSessions: 3 });
  const [first, ...rest] = [sessions.create(), sessions.create(), sessions.create(), sessions.create()];
  assert.equal(sessions.size, 3);
  assert.equal(sessions.get(first?.id), undefined);
  for (const s of rest) assert.equal(sessions.get(s.id), s);
  sessions.close();
});

test('DS-01 anonymous sessions never evict a signed-in user: 10,000 anonymous logins later every signed-in session is there', () => {
  const { sessions } = store({ maxSessions: 100 });
  const signedIn = Array.from({ length: 10 }, (_, i) => {
    const s = sessions.create();
    s.user = { sub: `user-${i}`, idTokenClaims: {} } as unknown as NonNullable<typeof s.user>;
    return s;
  });
  let last = sessions.create();
  for (let i = 0; i < 10_000; i++) last = sessions.create();
  assert.equal(sessions.size, 100);
  for (const s of signedIn) assert.equal(sessions.get(s.id), s, 'a signed-in session survived the flood');
  assert.equal(sessions.get(last.id), last, 'the newest anonymous session is kept');
  sessions.close();
});

test('when every session is signed in, the oldest signed-in one goes first', () => {
  const { sessions } = store({ maxSessions: 2 });
  const make = () => {
    const s = sessions.create();
    s.user = { sub: s.id, idTokenClaims: {} } as unknown as NonNullable<typeof s.user>;
    return s;
  };
  const [a, b, c] = [make(), make(), make()];
  assert.equal(sessions.get(a.id), undefined);
  assert.equal(sessions.get(b.id), b);
  assert.equal(sessions.get(c.id), c);
  sessions.close();
});

test('a pending login is taken once, and not after it expired', () => {
  const { sessions, advance, now } = store();
  const session = sessions.create();
  sessions.addPendingLogin(session, login('s1', now()));
  sessions.addPendingLogin(session, login('s2', now()));
  assert.equal(sessions.takePendingLogin(session, 's1')?.codeVerifier, 'v-s1');
  assert.equal(sessions.takePendingLogin(session, 's1'), undefined);
  advance(PENDING_LOGIN_TTL_MS + 1);
  assert.equal(sessions.takePendingLogin(session, 's2'), undefined);
  sessions.close();
});

test('a session keeps at most a few pending logins', () => {
  const { sessions, now } = store();
  const session = sessions.create();
  for (let i = 0; i < MAX_PENDING_LOGINS + 2; i++) sessions.addPendingLogin(session, login(`s${i}`, now()));
  assert.equal(session.pending.size, MAX_PENDING_LOGINS);
  assert.equal(sessions.takePendingLogin(session, 's0'), undefined, 'the oldest was dropped');
  sessions.close();
});

test('rotation gives a new id and kills the old one', () => {
  const { sessions } = store();
  const before = sessions.create();
  before.user = { sub: 'u', idTokenClaims: {} };
  const after = sessions.rotate(before);
  assert.notEqual(after.id, before.id);
  assert.equal(sessions.get(before.id), undefined);
  assert.equal(sessions.get(after.id)?.user?.sub, 'u');
  sessions.close();
});
