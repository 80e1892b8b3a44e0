// RFC 6749 §4.1.1-4.1.2.1, RFC 7636 §4.3, OIDC Core §3.1.2.1, RFC 9207, RFC 9700 §2.1:
// validate an authorization request. client_id and redirect_uri are checked first and exactly; errors
// about them are shown to the user (never redirected). Every later error goes back to the validated
// redirect_uri with error, state and iss.
import type { Client, ClientRepository, ResourceRepository } from '../storage/index.js';
import { OAuthError, invalidRequest, invalidScope, unsupportedResponseType, unauthorizedClient, type OAuthErrorCode } from './errors.js';
import { authorizationCodeGrant } from './grants/authorization-code.js';
import { repeatedNames, single, type Params } from './params.js';
import { isValidS256Challenge } from './pkce.js';
import { matchRedirectUri } from './redirect-uri.js';
import { assertScopesOffered, requestedResources } from './resources.js';
import { defaultScopesOf } from './clients.js';
import { ClientMetadataDocumentError } from './client-metadata-document.js';
import { isSubset, parseScope } from './scopes.js';
import { isJkt } from './dpop.js';

export const MAX_STATE_LENGTH = 2048;
export const MAX_NONCE_LENGTH = 2048;
/** DS-01: bounds on what an anonymous request can make the server store in its interaction row. */
export const MAX_LOGIN_HINT_LENGTH = 255;
export const MAX_ACR_VALUES_LENGTH = 512;
export const MAX_SCOPE_LENGTH = 2048;
export const MAX_RESOURCES = 10;
export const PROMPT_VALUES = ['none', 'login', 'consent', 'select_account'] as const;
const PROMPTS: ReadonlySet<string> = new Set(PROMPT_VALUES);

/** The validated request, as stored in an interaction and bound into the code. */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  redirectUriProvided: boolean;
  scopes: string[];
  /** RFC 8707: the registered resources the request names (empty: the default audience). */
  resources: string[];
  state?: string | undefined;
  nonce?: string | undefined;
  codeChallenge?: string | undefined;
  codeChallengeMethod?: string | undefined;
  prompt: string[];
  maxAge?: number | undefined;
  loginHint?: string | undefined;
  /** OIDC Core §3.1.2.1: the requested authentication context classes, in order of preference. */
  acrValues?: string[] | undefined;
  /** RFC 9449 §10: the DPoP key (thumbprint) the code is bound to; the token request must prove it. */
  dpopJkt?: string | undefined;
}

/** An error the user must see on a page: no trustworthy redirect_uri. */
export class AuthorizationPageError extends Error {
  /** `detail` is private: logged, never shown. */
  constructor(
    readonly title: string,
    readonly description: string,
    readonly detail?: string,
  ) {
    super(description);
  }
}

/** An error returned to the client at its validated redirect_uri. */
export class AuthorizationRedirectError extends Error {
  constructor(
    readonly error: OAuthError,
    readonly redirectUri: string,
    readonly state: string | undefined,
  ) {
    super(error.message);
  }
}

export interface AuthorizationRequestDeps {
  clients: Pick<ClientRepository, 'find'>;
  resources: Pick<ResourceRepository, 'findMany'>;
  pkceRequiredForConfidentialClients: boolean;
}

export async function validateAuthorizationRequest(
  params: Params,
  deps: AuthorizationRequestDeps,
): Promise<{ request: AuthorizationRequest; client: Client }> {
  // Step 1: client_id and redirect_uri, before anything may redirect (RU-02, RU-03, IN-01).
  const clientIds = params.get('client_id') ?? [];
  if (clientIds.length !== 1) {
    throw new AuthorizationPageError(
      'Invalid request',
      clientIds.length === 0 ? 'The request has no client_id.' : 'client_id was sent more than once.',
    );
  }
  let client: Client | undefined;
  try {
    client = clientIds[0]!.length <= 255 ? await deps.clients.find(clientIds[0]!) : undefined;
  } catch (e) {
    // CM-01, CM-02: a URL client_id whose metadata document cannot be used is shown, never redirected.
    if (e instanceof ClientMetadataDocumentError)
      throw new AuthorizationPageError(
        'Unusable application',
        e.message,
        `client metadata document ${clientIds[0]!}: ${e.detail ?? e.message}`,
      );
    throw e;
  }
  if (!client)
    throw new AuthorizationPageError('Unknown application', 'The application that sent you here is not registered with this server.');
  const redirectUris = params.get('redirect_uri') ?? [];
  if (redirectUris.length > 1) throw new AuthorizationPageError('Invalid request', 'redirect_uri was sent more than once.');
  let redirectUri: string;
  const provided = redirectUris.length === 1;
  if (provided) {
    // RU-05: the loopback port may vary for public (native) clients only (RFC 8252 §7.3).
    const matched = matchRedirectUri(redirectUris[0]!, client.redirectUris, { loopbackAnyPort: client.isPublic });
    if (!matched)
      throw new AuthorizationPageError('Invalid redirect URI', 'The redirect URI in the request is not registered for this application.');
    redirectUri = matched;
  } else {
    const scopeHint = params.get('scope')?.[0] ?? '';
    if (client.redirectUris.length !== 1 || scopeHint.split(' ').includes('openid')) {
      throw new AuthorizationPageError('Invalid request', 'The request has no redirect_uri.');
    }
    redirectUri = client.redirectUris[0]!;
  }

  const stateValues = params.get('state');
  const state = stateValues?.length === 1 && stateValues[0]!.length <= MAX_STATE_LENGTH ? stateValues[0] : undefined;
  const fail = (error: OAuthError): never => {
    throw new AuthorizationRedirectError(error, redirectUri, state);
  };
  const failWith = (code: OAuthErrorCode, description: string): never => fail(new OAuthError(code, description));

  try {
    // Step 2: everything else, errors redirected. From here on no parameter repeats, so single() never throws.
    const repeated = repeatedNames(params);
    if (repeated.length > 0) failWith('invalid_request', `parameters must not be provided more than once: ${repeated.join(', ')}`);
    if (stateValues && stateValues[0]!.length > MAX_STATE_LENGTH) failWith('invalid_request', 'state is too long');
    if (params.has('request')) failWith('request_not_supported', 'request objects are not supported');
    if (params.has('request_uri')) failWith('request_uri_not_supported', 'request_uri is not supported');

    const responseType = single(params, 'response_type');
    if (responseType === undefined) failWith('invalid_request', 'missing required parameter: response_type');
    if (responseType !== 'code') fail(unsupportedResponseType('only response_type=code is supported'));
    if (!client.grantTypes.includes(authorizationCodeGrant.grantType))
      fail(unauthorizedClient('this client may not use the authorization code flow'));
    const responseMode = single(params, 'response_mode');
    if (responseMode !== undefined && responseMode !== 'query') failWith('invalid_request', 'only response_mode=query is supported');

    // RFC 6749 §3.3: without scope the client's registered default applies (AU-04), never all it may ask for.
    const scopeParam = single(params, 'scope') ?? (defaultScopesOf(client).join(' ') || undefined);
    if (scopeParam !== undefined && scopeParam.length > MAX_SCOPE_LENGTH) failWith('invalid_request', 'scope is too long');
    if ((params.get('resource')?.length ?? 0) > MAX_RESOURCES) failWith('invalid_request', 'too many resource parameters');
    if (scopeParam === undefined) fail(invalidScope('scope is required'));
    let scopes: string[] = [];
    try {
      scopes = parseScope(scopeParam);
    } catch (e) {
      fail(e as OAuthError);
    }
    if (scopes.length === 0) fail(invalidScope('scope is required'));
    if (!isSubset(scopes, client.scopes)) fail(invalidScope('the requested scope is not allowed for this client'));
    // RFC 8707 (AU-02): every resource registered and usable by this client; its scopes offered by them.
    const resources = await requestedResources(params, client, deps.resources);
    assertScopesOffered(scopes, resources);

    // PKCE: S256 only; required of public clients always, of confidential clients by default (PK-01, PK-02, PK-05).
    const challenge = single(params, 'code_challenge');
    const method = single(params, 'code_challenge_method');
    if (challenge === undefined) {
      if (method !== undefined) failWith('invalid_request', 'code_challenge_method without code_challenge');
      if (client.isPublic || deps.pkceRequiredForConfidentialClients)
        failWith('invalid_request', 'code_challenge is required (PKCE with S256)');
    } else {
      if (method !== 'S256') failWith('invalid_request', 'code_challenge_method must be S256');
      if (!isValidS256Challenge(challenge)) failWith('invalid_request', 'code_challenge must be 43 base64url characters');
    }

    const nonce = single(params, 'nonce');
    if (nonce !== undefined && nonce.length > MAX_NONCE_LENGTH) failWith('invalid_request', 'nonce is too long');

    const prompt = (single(params, 'prompt') ?? '').split(' ').filter((p) => p.length > 0);
    for (const p of prompt) if (!PROMPTS.has(p)) failWith('invalid_request', `unsupported prompt value: ${p}`);
    if (prompt.includes('none') && prompt.length > 1) failWith('invalid_request', 'prompt=none cannot be combined with other values');

    const maxAgeRaw = single(params, 'max_age');
    let maxAge: number | undefined;
    if (maxAgeRaw !== undefined) {
      if (!/^\d{1,10}$/.test(maxAgeRaw)) failWith('invalid_request', 'max_age must be a non-negative integer');
      maxAge = Number(maxAgeRaw);
    }
    const loginHint = single(params, 'login_hint');
    if (loginHint !== undefined && loginHint.length > MAX_LOGIN_HINT_LENGTH) failWith('invalid_request', 'login_hint is too long');
    const acrRaw = single(params, 'acr_values');
    if (acrRaw !== undefined && acrRaw.length > MAX_ACR_VALUES_LENGTH) failWith('invalid_request', 'acr_values is too long');
    const acrValues = acrRaw === undefined ? [] : acrRaw.split(' ').filter((v) => v.length > 0);
    // RFC 9449 §10: dpop_jkt is a base64url SHA-256 JWK thumbprint.
    const dpopJkt = single(params, 'dpop_jkt');
    if (dpopJkt !== undefined && !isJkt(dpopJkt)) failWith('invalid_request', 'dpop_jkt must be a base64url SHA-256 JWK thumbprint');

    return {
      client,
      request: {
        clientId: client.clientId,
        redirectUri,
        redirectUriProvided: provided,
        scopes,
        resources: resources.map((r) => r.uri),
        state,
        nonce,
        codeChallenge: challenge,
        codeChallengeMethod: challenge === undefined ? undefined : 'S256',
        prompt,
        maxAge,
        loginHint,
        ...(acrValues.length > 0 ? { acrValues } : {}),
        ...(dpopJkt === undefined ? {} : { dpopJkt }),
      },
    };
  } catch (e) {
    if (e instanceof AuthorizationRedirectError) throw e;
    throw new AuthorizationRedirectError(
      e instanceof OAuthError ? e : invalidRequest('the request could not be processed'),
      redirectUri,
      state,
    );
  }
}
