// Health probes and draining (SECURITY-CHECKLIST R1, R6).
//
//   GET /healthz  liveness: the process is up and its event loop answers. Never touches the database.
//   GET /readyz   readiness: the database answers, every migration this code knows is applied, the
//                 signing keys are loaded, and this node's clock is within 60 s of the database's
//                 (clock-skew.ts, R4); 503 otherwise, and from the moment the node starts draining,
//                 so that a load balancer stops sending it traffic.//                 With --redis it also reports `redis: ok | unreachable`, which does NOT fail readiness:
//                 every node shares the one Redis, so failing them all would turn a degraded service
//                 (rate limits open, client assertions 503) into no service at all; alert on the warn
//                 log line or this field.
//
// Both are answered before anything else (no cookies, no rate limit: http/rate-limit.ts limits only the
// routes that name a limit) and their request logs are below info (visible with --log-level debug).
//
// Draining (main.ts, on SIGTERM/SIGINT): every response from then on says `Connection: close`, so a
// keep-alive connection closes after its in-flight response, and a request that still arrives gets
// the protocol's 503 temporarily_unavailable with Retry-After.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { REQUIRED_ALGS } from '../oauth/keys/key-store.js';
import { errorBody } from '../http/request-id.js';
import { OAuthError } from '../oauth/errors.js';
import { pendingMigrations, ping } from '../storage/database.js';
import { sendErrorPage } from '../interaction/page.js';
import { requestDeadline } from './request-deadline.js';
import { ClockSkewMonitor } from './clock-skew.js';

export const HEALTH_PATH = '/healthz';
export const READY_PATH = '/readyz';
/** Seconds a client is asked to wait before retrying on a draining node (another node will answer). */
const DRAIN_RETRY_AFTER = '1';

interface Lifecycle {
  draining: boolean;
  clock: ClockSkewMonitor;
}
const lifecycles = new WeakMap<FastifyInstance, Lifecycle>();

/** Starts draining: readiness fails, responses close their connections, new requests get 503. */
export function startDraining(app: FastifyInstance): void {
  const state = lifecycles.get(app);
  if (state) state.draining = true;
}

export function isDraining(app: FastifyInstance): boolean {
  return lifecycles.get(app)?.draining === true;
}

/** Measures this node's offset from the database's clock now (it is also measured at start and every 5 minutes). */
export async function checkClockNow(app: FastifyInstance): Promise<void> {
  await lifecycles.get(app)?.clock.check();
}

export interface Readiness {
  ready: boolean;
  checks: { draining: boolean; database: string; migrations: string; keys: string; clock: string; redis?: string };
}

/** The readiness checks, each bounded in time. */
export async function readiness(
  deps: Pick<AppDeps, 'storage' | 'keys' | 'config' | 'redis'>,
  draining = false,
  clock?: Pick<ClockSkewMonitor, 'off' | 'status'>,
): Promise<Readiness> {
  const checks: Readiness['checks'] = { draining, database: 'ok', migrations: 'ok', keys: 'ok', clock: clock?.status() ?? 'ok' };
  const redisUp = deps.redis?.ping();
  const timeout = Math.min(deps.config.databaseAcquireTimeout, 2000);
  try {
    await ping(deps.storage.db, timeout);
    try {
      const pending = await pendingMigrations(deps.storage.db);
      if (pending.length > 0) checks.migrations = `pending: ${pending.join(', ')}`;
    } catch {
      checks.migrations = 'unknown';
    }
  } catch {
    checks.database = 'unreachable';
    checks.migrations = 'unknown';
  }
  const missing = REQUIRED_ALGS.filter((alg) => {
    try {
      deps.keys.signingKey(alg);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) checks.keys = `missing: ${missing.join(', ')}`;
  if (redisUp) checks.redis = (await redisUp) ? 'ok' : 'unreachable';
  const ready = !draining && checks.database === 'ok' && checks.migrations === 'ok' && checks.keys === 'ok' && clock?.off !== true;
  return { ready, checks };
}

function drainingReply(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const error = new OAuthError('temporarily_unavailable', 'the server is shutting down, try again', {
    headers: { 'Retry-After': DRAIN_RETRY_AFTER },
  });
  reply.headers(error.headers).header('Connection', 'close');
  if (request.routeOptions.config?.browser === true) return sendErrorPage(reply, 503, 'Something went wrong', error.description);
  return reply.status(503).send(errorBody(error.toJSON(), request));
}

/**
 * Registers, on the root instance, what keeps a node healthy under faults: /healthz, /readyz, the
 * draining hooks and each request's database deadline (request-deadline.ts).
 */
export function healthEndpoints(app: FastifyInstance, deps: AppDeps): void {
  const clock = new ClockSkewMonitor({
    db: deps.storage.db,
    clock: deps.clock,
    log: app.log,
    timeoutMs: Math.min(deps.config.databaseAcquireTimeout, 2000),
  });
  const state: Lifecycle = { draining: false, clock };
  lifecycles.set(app, state);
  // R4: the node's offset from the database's clock, measured at start and every few minutes.
  app.addHook('onReady', () => clock.start());
  app.addHook('onClose', () => clock.stop());
  requestDeadline(app, deps.config.databaseRequestTimeout);

  // Callback-style hooks: they run on every request, and an async hook costs a promise each time.
  app.addHook('onRequest', (request, reply, done) => {
    if (state.draining && request.url !== HEALTH_PATH && request.url !== READY_PATH) {
      drainingReply(request, reply);
      return;
    }
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (state.draining) reply.header('Connection', 'close');
    done(null, payload);
  });

  // Request logs of the probes: below info.
  const quiet = {
    logLevel: 'warn' as const,
    onResponse: async (request: FastifyRequest, reply: FastifyReply) => {
      app.log.debug({ path: request.url, statusCode: reply.statusCode }, 'health probe');
    },
  };

  app.get(HEALTH_PATH, quiet, async (_request, reply) => reply.send({ status: 'ok' }));

  app.get(READY_PATH, quiet, async (request, reply) => {
    const result = await readiness(deps, state.draining, clock);
    if (result.ready) return reply.send({ status: 'ready', checks: result.checks });
    return reply
      .status(503)
      .header('Retry-After', state.draining ? DRAIN_RETRY_AFTER : '5')
      .send(
        errorBody(
          {
            error: 'temporarily_unavailable',
            error_description: state.draining ? 'the server is shutting down' : 'the server is not ready',
            checks: result.checks,
          },
          request,
        ),
      );
  });
}
