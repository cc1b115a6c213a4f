"""The session cookie: its name, its attributes, and where a request's token is read from.

Browsers get the session token in an ``HttpOnly`` (scripts never see it), ``SameSite=Strict``
(never sent with another site's requests), ``Path=/`` cookie. Over HTTPS it is
``__Host-parley_session`` with ``Secure``: the prefix makes the browser refuse the cookie
unless it was set by this very host, over HTTPS, without ``Domain``, so a page on a sibling
subdomain (or plain-HTTP page of the same name) cannot plant a session of its choosing in the
user's browser; and over HTTPS only that name is read, so a planted ``parley_session`` is
ignored. Over plain HTTP (a developer's 127.0.0.1) the prefix is impossible and the cookie is
``parley_session``. Which applies is decided per request (:meth:`Origins.https`).

Other clients send ``Authorization: Bearer <token>``, which wins over any cookie.
"""

from __future__ import annotations

from aiohttp import web

from parley.server.origins import Origins

PLAIN = "parley_session"
SECURE = "__Host-parley_session"


def cookie_name(https: bool) -> str:
    return SECURE if https else PLAIN


class SessionCookie:
    """Reads and writes the session cookie of one server."""

    def __init__(self, origins: Origins, max_age: float) -> None:
        self.origins = origins
        self.max_age = int(max_age)

    def token(self, request: web.BaseRequest) -> str | None:
        """The session token of a request: ``Authorization: Bearer`` first, then the cookie
        of the request's scheme."""
        auth = request.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return request.cookies.get(cookie_name(self.origins.https(request))) or None

    def set(self, request: web.BaseRequest, response: web.StreamResponse, token: str) -> None:
        https = self.origins.https(request)
        response.set_cookie(
            cookie_name(https),
            token,
            max_age=self.max_age,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=https,
        )

    def delete(self, request: web.BaseRequest, response: web.StreamResponse) -> None:
        https = self.origins.https(request)
        # A __Host- cookie is only replaced by one with the same attributes (Secure, Path=/).
        response.del_cookie(
            cookie_name(https), path="/", secure=https, httponly=True, samesite="Strict"
        )
