// Prometheus metrics (text exposition format 0.0.4) through prom-client, one registry per server.
// Off by default; `--metrics-port PORT` turns them on, served by metrics/listener.ts on a listener of
// their own (never the public port). Each node exposes its own numbers; Prometheus sums them.
//
// The hot path pays one onResponse hook per request: a Map lookup of the route's children (created
// once per route, method and status) and two prom-client updates. Nothing else is computed per
// request; the pool and key gauges are read when Prometheus scrapes.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export type LoginOutcome = 'success' | 'failure' | 'locked';

/** What the pool gauges read at scrape time: PostgreSQL's pool, or nothing (SQLite has no pool). */
export type PoolStats = () => { total: number; idle: number; waiting: number } | undefined;
/** The signing keys that sign now, with the time each became active (epoch seconds). */
export type ActiveKeys = () => readonly { kid: string; alg: string; activatedAt: number | null }[];

interface RouteChildren {
  latency: { observe(value: number): void };
  byStatus: Map<number, { inc(): void }>;
}

/** Latency buckets in seconds: a token request takes about a millisecond, a login a few hundred. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The route label of requests that matched no route (404s): never the raw URL. */
const UNMATCHED = 'unmatched';

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'method' | 'status'>;
  private readonly latency: Histogram<'route' | 'method'>;
  private readonly tokens: Counter<'grant_type'>;
  private readonly logins: Counter<'outcome'>;
  private readonly refreshReuse: Counter;
  private readonly clientAuthFailures: Counter;
  private readonly dpopReplays: Counter;
  private readonly routes = new Map<string, RouteChildren>();
  private readonly tokenChildren = new Map<string, { inc(): void }>();
  private readonly loginChildren: Record<LoginOutcome, { inc(): void }>;

  constructor(sources: { pool: PoolStats; keys: ActiveKeys; now: () => number }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'gatehouse_http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      registers,
    });
    this.latency = new Histogram({
      name: 'gatehouse_http_request_duration_seconds',
      help: 'Time from the request to the end of its response, by route pattern and method',
      labelNames: ['route', 'method'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.tokens = new Counter({
      name: 'gatehouse_tokens_issued_total',
      help: 'Token endpoint responses that issued tokens, by grant type',
      labelNames: ['grant_type'] as const,
      registers,
    });
    this.logins = new Counter({
      name: 'gatehouse_logins_total',
      help: 'Password sign-in attempts by outcome (locked: refused during a delay or lock, password not checked)',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.loginChildren = {
      success: this.logins.labels('success'),
      failure: this.logins.labels('failure'),
      locked: this.logins.labels('locked'),
    };
    this.refreshReuse = new Counter({
      name: 'gatehouse_refresh_token_reuse_total',
      help: 'Rotated refresh tokens presented again outside the grace window (each revoked its family)',
      registers,
    });
    this.clientAuthFailures = new Counter({
      name: 'gatehouse_client_authentication_failures_total',
      help: 'Requests refused with invalid_client (unknown clients included)',
      registers,
    });
    this.dpopReplays = new Counter({
      name: 'gatehouse_dpop_proof_replays_total',
      help: 'DPoP proofs refused because their jti had been seen',
      registers,
    });
    new Gauge({
      name: 'gatehouse_db_pool_connections',
      help: 'PostgreSQL pool connections by state (total, idle, waiting requests); absent on SQLite',
      labelNames: ['state'] as const,
      registers,
      collect() {
        this.reset();
        const stats = sources.pool();
        if (!stats) return;
        this.labels('total').set(stats.total);
        this.labels('idle').set(stats.idle);
        this.labels('waiting').set(stats.waiting);
      },
    });
    new Gauge({
      name: 'gatehouse_signing_key_age_seconds',
      help: 'Seconds since each active signing key became active, by kid and alg',
      labelNames: ['kid', 'alg'] as const,
      registers,
      collect() {
        this.reset();
        const now = sources.now();
        for (const key of sources.keys()) if (key.activatedAt !== null) this.labels(key.kid, key.alg).set(now - key.activatedAt);
      },
    });
  }

  /** Counts and times every response, labelled with the route pattern (`/token`), never the raw URL. */
  register(app: FastifyInstance): void {
    app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      this.observe(request.routeOptions.url ?? UNMATCHED, request.method, reply.statusCode, reply.elapsedTime);
      done();
    });
  }

  observe(route: string, method: string, status: number, elapsedMs: number): void {
    const key = method === 'GET' ? route : `${method} ${route}`;
    let children = this.routes.get(key);
    if (!children) {
      children = { latency: this.latency.labels(route, method), byStatus: new Map() };
      this.routes.set(key, children);
    }
    let counter = children.byStatus.get(status);
    if (!counter) {
      counter = this.requests.labels(route, method, String(status));
      children.byStatus.set(status, counter);
    }
    counter.inc();
    children.latency.observe(elapsedMs / 1000);
  }

  tokenIssued(grantType: string): void {
    let counter = this.tokenChildren.get(grantType);
    if (!counter) {
      counter = this.tokens.labels(grantType);
      this.tokenChildren.set(grantType, counter);
    }
    counter.inc();
  }

  login(outcome: LoginOutcome): void {
    this.loginChildren[outcome].inc();
  }

  refreshTokenReused(): void {
    this.refreshReuse.inc();
  }

  clientAuthenticationFailed(): void {
    this.clientAuthFailures.inc();
  }

  dpopProofReplayed(): void {
    this.dpopReplays.inc();
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
