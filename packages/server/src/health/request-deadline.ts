// Every request gets a deadline for the database (--database-request-timeout, SECURITY-CHECKLIST R7):
// the statement and acquire timeouts bound one wait each, and this bounds their sum, so that a
// database that answers every round trip slowly costs a request a few seconds and then a 503, not
// the sum of its round trips. storage/database.ts reads the deadline from an AsyncLocalStorage scope.
//
// Fastify reads a request body through stream events, which run outside the scope entered in
// onRequest; an AsyncResource made inside the scope carries it over to the handler (preValidation
// runs after the body is parsed).
import { AsyncResource } from 'node:async_hooks';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { runWithDatabaseDeadline } from '../storage/database.js';

export function requestDeadline(app: FastifyInstance, timeoutMs: number): void {
  const scopes = new WeakMap<FastifyRequest, AsyncResource>();
  app.addHook('onRequest', (request, _reply, done) => {
    runWithDatabaseDeadline(Date.now() + timeoutMs, () => {
      scopes.set(request, new AsyncResource('gatehouse-request'));
      done();
    });
  });
  app.addHook('preValidation', (request, _reply, done) => {
    const scope = scopes.get(request);
    if (scope) scope.runInAsyncScope(done);
    else done();
  });
}
