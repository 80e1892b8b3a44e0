// R4, JW-05: THE clock leeway, one number for the whole deployment (README "Clocks", docs/deployment.md).
//
// Expiry is decided by the clock of the node that reads it: JWT exp/iat by the issuing node and by each
// verifier; codes and refresh tokens by the node that redeems them, against an expiry the issuing node
// stamped. Nodes may therefore disagree by their clock difference, and that difference is bounded:
// - every node measures its offset from the database's clock at start and every few minutes, and a node
//   more than CLOCK_LEEWAY seconds off logs a warning and fails /readyz until it is back
//   (health/clock-skew.ts), so the nodes a load balancer sends traffic to agree with the database;
// - the resource-server library tolerates CLOCK_LEEWAY on exp, nbf and iat by default
//   (@gatehouse/resource-server DEFAULT_LEEWAY_SECONDS, also its maximum);
// - a published `next` signing key waits CLOCK_LEEWAY longer before it signs (oauth/keys/rotation.ts
//   PUBLISH_DELAY), so that a node whose clock runs ahead never signs with a key that verifiers
//   holding the previous JWKS do not know yet.
// (Client assertions, private_key_jwt, allow 30 s: that is the client's clock against ours, within this bound.)
// test/clock-skew.test.ts checks that these agree.

/** Seconds two clocks of one deployment may disagree: nodes against the database, verifiers against the issuer. */
export const CLOCK_LEEWAY = 60;
