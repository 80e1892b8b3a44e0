"""Interop: requests-oauthlib (on oauthlib) against a running Gatehouse.

1. Client credentials with BackendApplicationClient and client_secret_basic, the token then
   introspected (RFC 7662) with plain requests (requests-oauthlib has no introspection helper).
2. Authorization code with PKCE S256: through OAuth2Session(pkce="S256") when the installed
   requests-oauthlib has it (2.0+), otherwise through oauthlib's WebApplicationClient PKCE helpers
   (oauthlib 3.2+), which requests-oauthlib 1.3 passes through. Then userinfo and a refresh
   (rotation) with client_secret_basic.

Protocol with the TypeScript test (one JSON object per line): see authlib_flow.py.
"""
import inspect
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
    # oauthlib refuses plain http (InsecureTransportError); the test issuer is http on the loopback
    # interface only, so the check is relaxed for exactly that case (never for a real issuer).
    if urlparse(issuer).hostname == "127.0.0.1":
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"

    import oauthlib
    import requests
    import requests_oauthlib
    from oauthlib.oauth2 import BackendApplicationClient, WebApplicationClient
    from requests.auth import HTTPBasicAuth
    from requests_oauthlib import OAuth2Session

    meta = requests.get(issuer + "/.well-known/oauth-authorization-server", timeout=10).json()
    client_id, secret = config["client_id"], config["client_secret"]
    basic = HTTPBasicAuth(client_id, secret)

    # 1. Client credentials. With no `auth`, fetch_token sends client_id and client_secret as Basic.
    backend = OAuth2Session(client=BackendApplicationClient(client_id=client_id), scope=["photos:read"])
    cc = backend.fetch_token(meta["token_endpoint"], client_id=client_id, client_secret=secret, timeout=10)
    cc_introspection = requests.post(
        meta["introspection_endpoint"], data={"token": cc["access_token"]}, auth=basic, timeout=10
    ).json()

    # 2. Authorization code with PKCE.
    has_pkce_option = "pkce" in inspect.signature(OAuth2Session.__init__).parameters
    scope = config["scope"].split(" ")
    if has_pkce_option:
        session = OAuth2Session(client_id, redirect_uri=config["redirect_uri"], scope=scope, pkce="S256")
        url, state = session.authorization_url(meta["authorization_endpoint"])
        extra = {}
    else:
        web = WebApplicationClient(client_id)
        session = OAuth2Session(client=web, redirect_uri=config["redirect_uri"], scope=scope)
        verifier = web.create_code_verifier(64)
        challenge = web.create_code_challenge(verifier, "S256")
        url, state = session.authorization_url(
            meta["authorization_endpoint"], code_challenge=challenge, code_challenge_method="S256"
        )
        extra = {"code_verifier": verifier}
    emit({"step": "authorize", "url": url})

    callback = sys.stdin.readline().strip()
    # fetch_token checks `state` against the session's before it sends anything.
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=callback, auth=basic, timeout=10, **extra
    )
    userinfo = session.get(meta["userinfo_endpoint"], timeout=10).json()
    first_refresh = token["refresh_token"]
    refreshed = session.refresh_token(meta["token_endpoint"], auth=basic, timeout=10)

    emit({
        "step": "result",
        "library": "requests-oauthlib",
        "version": requests_oauthlib.__version__,
        "oauthlib_version": oauthlib.__version__,
        "pkce_via": "OAuth2Session(pkce=)" if has_pkce_option else "oauthlib WebApplicationClient",
        "cc_token_type": cc["token_type"],
        "cc_scope": cc.get("scope"),
        "cc_has_refresh_token": "refresh_token" in cc,
        "cc_introspection": cc_introspection,
        "callback_iss": (parse_qs(urlparse(callback).query).get("iss") or [None])[0],
        "token_type": token["token_type"],
        "scope": token.get("scope"),
        "userinfo": userinfo,
        "refresh_rotated": bool(refreshed.get("refresh_token")) and refreshed["refresh_token"] != first_refresh,
        "access_rotated": refreshed["access_token"] != token["access_token"],
    })


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report everything to the test as one JSON line
        emit({"step": "error", "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()})
        sys.exit(1)
