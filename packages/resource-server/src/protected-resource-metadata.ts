// RFC 9728 §2 (OAuth 2.0 Protected Resource Metadata), §3.1 (its well-known URL), §5.1 (the
// `resource_metadata` parameter of the WWW-Authenticate challenge, see VerifierOptions.resourceMetadata).

import { checkUrl } from './options.js';
import { checkScopeList } from './scopes.js';

export interface ProtectedResourceMetadataOptions {
  /** The resource identifier (https URL, no fragment) — normally the `audience` its tokens carry. */
  resource: string;
  /** Issuer identifiers of the authorization servers that issue tokens for this resource. */
  authorizationServers?: readonly string[];
  /** Scopes this resource understands. */
  scopesSupported?: readonly string[];
  /** How tokens may be sent: 'header' and/or 'body' (default both; the query is never accepted). */
  bearerMethodsSupported?: readonly ('header' | 'body')[];
  /** Human-readable name of the resource. */
  resourceName?: string;
  /** URL of developer documentation. */
  resourceDocumentation?: string;
  /** URL of the resource's policy on data use. */
  resourcePolicyUri?: string;
  /** URL of the resource's terms of service. */
  resourceTosUri?: string;
  /** Allow plain-http URLs on non-loopback hosts (default false). */
  allowInsecureRequests?: boolean;
}

/** The JSON document served at `/.well-known/oauth-protected-resource` (RFC 9728 §2). */
export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers?: string[];
  scopes_supported?: string[];
  bearer_methods_supported: string[];
  resource_name?: string;
  resource_documentation?: string;
  resource_policy_uri?: string;
  resource_tos_uri?: string;
}

/**
 * RFC 9728 §3.1: the metadata URL of a resource — `/.well-known/oauth-protected-resource` inserted between
 * the host and the resource's path (and query), e.g. `https://api.example/photos` →
 * `https://api.example/.well-known/oauth-protected-resource/photos`.
 */
export function protectedResourceMetadataUrl(resource: string, options: { allowInsecureRequests?: boolean } = {}): string {
  const url = checkUrl(resource, 'resource', options.allowInsecureRequests === true);
  const path = url.pathname === '/' ? '' : url.pathname;
  return `${url.origin}/.well-known/oauth-protected-resource${path}${url.search}`;
}

/** Builds (and validates) the RFC 9728 protected-resource metadata document. Throws TypeError on bad input. */
export function protectedResourceMetadata(options: ProtectedResourceMetadataOptions): ProtectedResourceMetadata {
  const insecure = options.allowInsecureRequests === true;
  checkUrl(options.resource, 'resource', insecure);
  const methods = options.bearerMethodsSupported ?? ['header', 'body'];
  if (!Array.isArray(methods) || !methods.every((m) => m === 'header' || m === 'body')) {
    throw new TypeError('"bearerMethodsSupported" may only contain "header" and "body"');
  }
  const document: ProtectedResourceMetadata = { resource: options.resource, bearer_methods_supported: [...methods] };
  if (options.authorizationServers !== undefined) {
    document.authorization_servers = options.authorizationServers.map((issuer, i) => {
      checkUrl(issuer, `authorizationServers[${i}]`, insecure);
      return issuer;
    });
  }
  if (options.scopesSupported !== undefined) {
    document.scopes_supported = [...checkScopeList(options.scopesSupported, 'scopesSupported')];
  }
  if (options.resourceName !== undefined) document.resource_name = options.resourceName;
  if (options.resourceDocumentation !== undefined) {
    document.resource_documentation = checkUrl(options.resourceDocumentation, 'resourceDocumentation', insecure).href;
  }
  if (options.resourcePolicyUri !== undefined) {
    document.resource_policy_uri = checkUrl(options.resourcePolicyUri, 'resourcePolicyUri', insecure).href;
  }
  if (options.resourceTosUri !== undefined) {
    document.resource_tos_uri = checkUrl(options.resourceTosUri, 'resourceTosUri', insecure).href;
  }
  return document;
}
