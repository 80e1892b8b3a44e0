// Server-side browser sessions. The browser only ever holds an opaque, random session id
// in an HttpOnly cookie; tokens and the pending login transactions live here, in memory.
import { randomBytes } from 'node:crypto';

/** One authorization request in flight (RFC 6749 §10.12, RFC 7636, OIDC Core §15.5.2). */
export interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  createdAt: number;
}

export interface TokenSet {
  accessToken: string;
  /** Epoch milliseconds; undefined when the server did not say (expires_in absent). */
  accessTokenExpiresAt?: number;
  /** Epoch milliseconds after which the token is refreshed before use. */
  refreshAt?: number;
  refreshToken?: string;
  idToken?: string;
  scope?: string;
  /** `dpop` when the access token is bound to the session's DPoP key (RFC 9449 §5), `bearer` otherwise. */
  tokenType?: string;
}

export interface SignedInUser {
  sub: string;
  name?: string;
  email?: string;
  /** Claims of the ID token, for the "technical details" panel. */
  idTokenClaims: Record<string, unknown>;
}

export interface Session {
  readonly id: string;
  createdAt: number;
  lastSeenAt: number;
  /** Pending logins keyed by `state`; a few, so that two tabs can each start a login. */
  pending: Map<string, PendingLogin>;
  user?: SignedInUser;
  tokens?: TokenSet;
  /** RFC 9449: the session's DPoP key pair (non-extractable private key), made at sign-in. */
  dpopKeys?: CryptoKeyPair;
  /** Single-flight refresh: concurrent requests of one session share one refresh call. */
  refreshing?: Promise<TokenSet>;
}

export const MAX_PENDING_LOGINS = 5;
/**
 * Memory bound: beyond this many sessions one is dropped — the oldest session nobody signed in to,
 * and a signed-in one only when every session is signed in. So anonymous `POST /login` requests
 * (each creates a session before the user comes back) can never evict a signed-in user (DS-01).
 */
export const DEFAULT_MAX_SESSIONS = 10_000;
export const PENDING_LOGIN_TTL_MS = 10 * 60 * 1000;

export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  /** Ids of sessions created without a user, oldest first; entries that signed in since are skipped. */
  readonly #anonymous = new Set<string>();
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #maxSessions: number;
  #sweeper: NodeJS.Timeout | undefined;

  constructor({ ttlMs, maxSessions = DEFAULT_MAX_SESSIONS, now = Date.now }: { ttlMs: number; maxSessions?: number; now?: () => number }) {
    this.#ttlMs = ttlMs;
    this.#maxSessions = maxSessions;
    this.#now = now;
    this.#sweeper = setInterval(() => this.sweep(), Math.min(ttlMs, 60_000));
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  create(): Session {
    const now = this.#now();
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      createdAt: now,
      lastSeenAt: now,
      pending: new Map(),
    };
    while (this.#sessions.size >= this.#maxSessions) {
      const victim = this.#oldestAnonymous() ?? this.#sessions.keys().next().value;
      if (victim === undefined) break;
      this.delete(victim);
    }
    this.#sessions.set(session.id, session);
    this.#anonymous.add(session.id);
    return session;
  }

  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    const now = this.#now();
    if (now - session.lastSeenAt > this.#ttlMs) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.lastSeenAt = now;
    return session;
  }

  /**
   * Replaces a session by a fresh id carrying the same state (defeats session fixation:
   * the id a browser had before signing in is worthless after).
   */
  rotate(session: Session): Session {
    this.delete(session.id);
    const next = this.create();
    next.pending = session.pending;
    if (session.user) next.user = session.user;
    if (session.tokens) next.tokens = session.tokens;
    if (session.dpopKeys) next.dpopKeys = session.dpopKeys;
    return next;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
    this.#anonymous.delete(id);
  }

  /** The oldest live session without a user; forgets ids that are gone or signed in on the way. */
  #oldestAnonymous(): string | undefined {
    for (const id of this.#anonymous) {
      const session = this.#sessions.get(id);
      if (session && !session.user) return id;
      this.#anonymous.delete(id);
    }
    return undefined;
  }

  addPendingLogin(session: Session, login: PendingLogin): void {
    this.prunePending(session);
    while (session.pending.size >= MAX_PENDING_LOGINS) {
      const oldest = session.pending.keys().next().value;
      if (oldest === undefined) break;
      session.pending.delete(oldest);
    }
    session.pending.set(login.state, login);
  }

  /** Removes and returns the pending login for `state` (one use only), if still valid. */
  takePendingLogin(session: Session, state: string): PendingLogin | undefined {
    const login = session.pending.get(state);
    if (!login) return undefined;
    session.pending.delete(state);
    if (this.#now() - login.createdAt > PENDING_LOGIN_TTL_MS) return undefined;
    return login;
  }

  prunePending(session: Session): void {
    const now = this.#now();
    for (const [state, login] of session.pending) {
      if (now - login.createdAt > PENDING_LOGIN_TTL_MS) session.pending.delete(state);
    }
  }

  sweep(): void {
    const now = this.#now();
    for (const [id, session] of this.#sessions) {
      if (now - session.lastSeenAt > this.#ttlMs) this.#sessions.delete(id);
    }
  }

  close(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    this.#sessions.clear();
  }
}
