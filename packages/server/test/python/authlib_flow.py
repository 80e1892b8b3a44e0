"""Interop: authlib's requests OAuth2Session against a running Gatehouse.

Authorization code with PKCE S256 and client_secret_basic, ID token verified with authlib.jose
against the published JWKS, userinfo, refresh (rotation), introspection (RFC 7662) and revocation
(RFC 7009).

Protocol with the TypeScript test (one JSON object per line):
  stdin  line 1: {"issuer", "client_id", "client_secret", "redirect_uri", "scope"}
  stdout:        {"step": "authorize", "url": ...}     the test plays the browser with this URL
  stdin  line 2: the callback URL the browser was sent to
  stdout:        {"step": "result", ...}               what the test asserts on
  on failure:    {"step": "error", "error": ..., "traceback": ...} and exit status 1
"""
import json
import os
import sys
import traceback
from urllib.parse import parse_qs, urlparse


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    config = json.loads(sys.stdin.readline())
    issuer = config["issuer"]
    # oauthlib and authlib refuse plain http; the test issuer is http on the loopback interface only,
    # so transport checks are relaxed for exactly that case (never for a real issuer).
    if urlparse(issuer).hostname == "127.0.0.1":
        os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

    import authlib
    import requests
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.jose import JsonWebKey, JsonWebToken

    meta = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
    session = OAuth2Session(
        config["client_id"],
        config["client_secret"],
        scope=config["scope"],
        redirect_uri=config["redirect_uri"],
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
        revocation_endpoint_auth_method="client_secret_basic",
        default_timeout=10,
    )

    verifier = generate_token(64)
    nonce = generate_token(20)
    url, state = session.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    emit({"step": "authorize", "url": url})

    callback = sys.stdin.readline().strip()
    callback_params = parse_qs(urlparse(callback).query)
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=callback, state=state, code_verifier=verifier
    )

    # The ID token: signature against the JWKS (RS256 by default), iss, aud, nonce, exp.
    jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    claims = JsonWebToken(["RS256"]).decode(
        token["id_token"],
        jwks,
        claims_options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": config["client_id"]},
            "nonce": {"essential": True, "value": nonce},
        },
    )
    claims.validate()

    userinfo = session.get(meta["userinfo_endpoint"]).json()

    first_refresh = token["refresh_token"]
    refreshed = session.refresh_token(meta["token_endpoint"], refresh_token=first_refresh)

    introspection = meta["introspection_endpoint"]
    active_access = session.introspect_token(introspection, token=refreshed["access_token"], token_type_hint="access_token").json()
    active_refresh = session.introspect_token(introspection, token=refreshed["refresh_token"], token_type_hint="refresh_token").json()

    revoke = session.revoke_token(meta["revocation_endpoint"], token=refreshed["refresh_token"], token_type_hint="refresh_token")

    after_access = session.introspect_token(introspection, token=refreshed["access_token"]).json()
    after_refresh = session.introspect_token(introspection, token=refreshed["refresh_token"]).json()

    emit({
        "step": "result",
        "library": "authlib",
        "version": authlib.__version__,
        "callback_state_matches": callback_params.get("state") == [state],
        "callback_iss": (callback_params.get("iss") or [None])[0],
        "token_type": token["token_type"],
        "scope": token.get("scope"),
        "has_refresh_token": bool(first_refresh),
        "id_token_sub": claims["sub"],
        "id_token_alg": claims.header["alg"],
        "userinfo": userinfo,
        "refreshed_token_type": refreshed["token_type"],
        "refresh_rotated": bool(refreshed.get("refresh_token")) and refreshed["refresh_token"] != first_refresh,
        "access_rotated": refreshed["access_token"] != token["access_token"],
        "introspection_access_before": active_access,
        "introspection_refresh_before": active_refresh,
        "revocation_status": revoke.status_code,
        "introspection_access_after": after_access,
        "introspection_refresh_after": after_refresh,
    })


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report everything to the test as one JSON line
        emit({"step": "error", "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()})
        sys.exit(1)
