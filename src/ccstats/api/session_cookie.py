"""The dashboard's sign-in cookie: the API token, kept where page scripts cannot read it.

The dashboard posts the token once (`POST /v1/session`); the server answers with an HttpOnly,
SameSite=Strict cookie, so a script injected into the page could not read the token, and other
sites' pages never send it. A request is authenticated by the cookie only when it also carries
the dashboard's header (`X-CCStats-Client`): a form, link or image of another origin cannot add a
header, and a script of another origin cannot either without a CORS preflight, which ccstats
never allows. Bearer tokens work as before and win over the cookie.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

__all__ = [
    "COOKIE",
    "CLIENT_HEADER",
    "REMEMBER_S",
    "session_token",
    "set_session_cookie",
    "clear_session_cookie",
]

COOKIE = "ccstats_session"
CLIENT_HEADER = "x-ccstats-client"
REMEMBER_S = 30 * 24 * 3600
"""How long "keep me signed in" keeps the cookie; without it, the cookie ends with the browser."""
_MAX_TOKEN = 512


def session_token(request: Request) -> str | None:
    """The token of the sign-in cookie, when the request also carries the dashboard's header."""
    if not request.headers.get(CLIENT_HEADER):
        return None
    token = request.cookies.get(COOKIE, "").strip()
    return token if 0 < len(token) <= _MAX_TOKEN else None


def _secure(request: Request) -> bool:
    # Behind a TLS-terminating proxy the app sees http; the proxy's header says what the browser saw.
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_session_cookie(response: Response, request: Request, token: str, remember: bool) -> None:
    """Sign the browser in: the token in an HttpOnly, SameSite=Strict cookie for the whole site."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=REMEMBER_S if remember else None,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    """Sign the browser out: the cookie expires now."""
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )
