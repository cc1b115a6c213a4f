"""The account API over HTTP: register, log in, log out, who am I.

Requests and responses are JSON. A successful registration or login answers with the user and
a session token, and sets the same token as an ``HttpOnly``, ``SameSite=Strict`` cookie, so
that browsers never expose it to scripts and never send it cross-site; other clients send it
as ``Authorization: Bearer <token>``. Requests must say ``Content-Type: application/json``,
which a cross-site HTML form cannot.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from aiohttp import web

from parley.chat.auth import AccountError, Accounts, hash_token
from parley.chat.node import Node
from parley.chat.notices import RevokeNotice, pack_notice
from parley.chat.ratelimit import RateLimit
from parley.config import sign_in_limit
from parley.model import Session
from parley.protocol.codec import MAX_JSON_DEPTH, nested_too_deeply
from parley.protocol.names import username_problem
from parley.server.endpoint import client_address
from parley.server.throttle import SignInGuard
from parley.store.base import Unavailable

COOKIE = "parley_session"

_STATUS = {
    "invalid_username": 400,
    "weak_password": 400,
    "bad_request": 400,
    "wrong_credentials": 401,
    "unauthorized": 401,
    "registration_closed": 403,
    "rate_limited": 429,
    "account_disabled": 403,
    "username_taken": 409,
    "unavailable": 503,
}


def error_response(code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=_STATUS.get(code, 400))


def request_token(request: web.BaseRequest) -> str | None:
    """The session token of a request: ``Authorization: Bearer`` first, then the cookie."""
    auth = request.headers.get("Authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE) or None


def _user_json(session: Session) -> dict[str, Any]:
    return {"name": session.user.name, "admin": session.user.is_admin}


def _throttled(retry_after: float) -> web.Response:
    response = error_response("rate_limited", "too many attempts; wait a little and try again")
    response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response


class AccountRoutes:
    """The ``/api/...`` handlers; ``secure_cookies`` adds ``Secure`` (HTTPS deployments).
    The sign-in limits are ``server/throttle.py``'s."""

    def __init__(
        self,
        accounts: Accounts,
        node: Node,
        *,
        secure_cookies: bool = False,
        behind_proxy: bool = False,
        address_limit: RateLimit | None = None,
    ) -> None:
        self.accounts = accounts
        self.node = node
        self.secure_cookies = secure_cookies
        self.behind_proxy = behind_proxy
        self.guard = SignInGuard(address_limit or sign_in_limit())

    def _address(self, request: web.Request) -> str:
        return client_address(request, behind_proxy=self.behind_proxy)

    def add_to(self, app: web.Application) -> None:
        app.router.add_post("/api/register", self.register)
        app.router.add_post("/api/login", self.login)
        app.router.add_post("/api/logout", self.logout)
        app.router.add_get("/api/me", self.me)

    async def _credentials(self, request: web.Request) -> tuple[str, str]:
        if request.content_type != "application/json":
            raise AccountError("bad_request", "send JSON with Content-Type: application/json")
        try:
            raw = await request.read()
            if nested_too_deeply(raw):
                raise AccountError("bad_request", f"JSON nests more than {MAX_JSON_DEPTH} levels")
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            raise AccountError("bad_request", "the body is not valid JSON") from None
        except ConnectionError:
            # The client left before sending its whole body; nobody will read the answer.
            raise AccountError("bad_request", "incomplete request") from None
        if not isinstance(body, dict):
            raise AccountError("bad_request", "the body must be a JSON object")
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise AccountError("bad_request", 'send {"username": "...", "password": "..."}')
        return username, password

    def _signed_in(self, session: Session, token: str, status: int) -> web.Response:
        response = web.json_response(
            {"user": _user_json(session), "token": token, "expires": session.expires_at},
            status=status,
        )
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(self.accounts.session_ttl),
            path="/",
            httponly=True,
            samesite="Strict",
            secure=self.secure_cookies,
        )
        return response

    async def register(self, request: web.Request) -> web.Response:
        retry_after = self.guard.attempt(self._address(request))
        if retry_after:
            return _throttled(retry_after)
        try:
            username, password = await self._credentials(request)
            session, token = await self.accounts.register(username, password)
        except AccountError as error:
            return error_response(error.code, error.message)
        except Unavailable:
            return error_response("unavailable", "the server cannot store accounts right now")
        return self._signed_in(session, token, 201)

    async def login(self, request: web.Request) -> web.Response:
        address = self._address(request)
        retry_after = self.guard.attempt(address)
        if retry_after:
            return _throttled(retry_after)
        try:
            username, password = await self._credentials(request)
        except AccountError as error:
            return error_response(error.code, error.message)
        # A name that cannot exist is throttled as one account: its key stays small.
        account = username.lower() if username_problem(username) is None else ""
        verdict = self.guard.login(address, account)
        if verdict.retry_after:
            return _throttled(verdict.retry_after)
        if verdict.delay:
            await asyncio.sleep(verdict.delay)
        try:
            session, token = await self.accounts.login(username, password)
        except AccountError as error:
            if error.code != "wrong_credentials":  # the password was right
                self.guard.refund(address, account)
            return error_response(error.code, error.message)
        except Unavailable:
            self.guard.refund(address, account)
            return error_response("unavailable", "the server cannot sign you in right now")
        self.guard.refund(address, account)
        return self._signed_in(session, token, 200)

    async def logout(self, request: web.Request) -> web.Response:
        token = request_token(request)
        try:
            session = await self.accounts.logout(token) if token else None
        except Unavailable:
            return error_response("unavailable", "the server cannot sign you out right now")
        if session is not None:
            # Close this session's WebSockets, on every node.
            notice = pack_notice(RevokeNotice(token_hash=hash_token(token or "")))
            self.node.notify_user(session.user.id, notice)
        response = web.Response(status=204)
        response.del_cookie(COOKIE, path="/")
        return response

    async def me(self, request: web.Request) -> web.Response:
        token = request_token(request)
        try:
            session = await self.accounts.authenticate(token) if token else None
        except Unavailable:
            return error_response("unavailable", "the server cannot check sessions right now")
        if session is None:
            # A visitor who is not signed in is an answer, not an error: a 401 here made
            # every browser log an error on every signed-out page load.
            return web.json_response({"user": None})
        return web.json_response({"user": _user_json(session), "expires": session.expires_at})
