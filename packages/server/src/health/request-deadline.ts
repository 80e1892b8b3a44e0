// Every request gets a deadline for the database (--database-request-timeout, SECURITY-CHECKLIST R7):
// the statement and acquire timeouts bound one wait each, and this bounds their sum, so that a
// database that answers every round trip slowly costs a request a few seconds and then a 503, not
// the sum of its round trips. storage/database.ts reads the deadline from an AsyncLocalStorage scope.
//
// The deadline is fixed when the request arrives (onRequest) and the scope entered in preValidation,
// after the body is parsed (Fastify reads it through stream events, outside any scope entered
// earlier) and before the handler: every database wait happens in the handler, which Fastify calls
// from inside the scope. One AsyncLocalStorage.run per request and no AsyncResource to carry.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { runWithDatabaseDeadline } from '../storage/database.js';

export function requestDeadline(app: FastifyInstance, timeoutMs: number): void {
  const deadlines = new WeakMap<FastifyRequest, number>();
  app.addHook('onRequest', (request, _reply, done) => {
    deadlines.set(request, Date.now() + timeoutMs);
    done();
  });
  app.addHook('preValidation', (request, _reply, done) => {
    runWithDatabaseDeadline(deadlines.get(request) ?? Date.now() + timeoutMs, done);
  });
}
