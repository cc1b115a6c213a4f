"""The account API over HTTP: register, log in, log out, who am I, claim an imported account.

Requests and responses are JSON. A successful registration or login answers with the user and
a session token, and sets the same token as the session cookie (``server/cookies.py``), so
that browsers never expose it to scripts and never send it cross-site; other clients send it
as ``Authorization: Bearer <token>``.

Every request that changes something (register, log in, log out) must say ``Content-Type:
application/json``, which neither a cross-site HTML form nor a "simple" cross-origin
``fetch`` can send, and must not come from another origin's page (``server/origins.py``): a
page on another port or subdomain of the same site gets the cookie (SameSite=Strict does not
stop it) and could otherwise sign the user out, or into an account of its choosing. Both
refusals change nothing and are answered before any work is done.
"""

from __future__ import annotations

import asyncio
import json
import logging
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
from parley.server.cookies import SessionCookie
from parley.server.endpoint import client_address
from parley.server.origins import Origins
from parley.server.pages import page
from parley.server.throttle import SignInGuard
from parley.store.base import Unavailable

log = logging.getLogger(__name__)

_STATUS = {
    "invalid_username": 400,
    "weak_password": 400,
    "bad_request": 400,
    "wrong_credentials": 401,
    "invalid_claim": 400,
    "unauthorized": 401,
    "registration_closed": 403,
    "invite_required": 403,
    "invite_invalid": 410,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "forbidden_origin": 403,
    "rate_limited": 429,
    "account_disabled": 403,
    "username_taken": 409,
    "too_large": 413,
    "quota_exceeded": 413,
    "bad_image": 400,
    "unsupported_media_type": 415,
    "unavailable": 503,
}


def error_response(code: str, message: str, extra: dict[str, int] | None = None) -> web.Response:
    """``{"error": code, "message": message}``, with ``extra``'s fields (numbers a program
    reads, such as an upload's ``size`` and ``limit``)."""
    body: dict[str, object] = {"error": code, "message": message, **(extra or {})}
    return web.json_response(body, status=_STATUS.get(code, 400))


def _user_json(session: Session) -> dict[str, Any]:
    return {"name": session.user.name, "admin": session.user.is_admin}


def throttled(retry_after: float) -> web.Response:
    """429 ``rate_limited`` with ``Retry-After`` (whole seconds, at least 1)."""
    response = error_response("rate_limited", "too many attempts; wait a little and try again")
    response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response


def refusal(request: web.Request, origins: Origins) -> web.Response | None:
    """The answer to a state-changing request that must not be served (not JSON, or from
    another origin's page), or None. Every ``/api`` request that changes something asks."""
    if request.content_type != "application/json":
        return error_response(
            "unsupported_media_type", "send JSON with Content-Type: application/json"
        )
    if not origins.allows(request):
        return error_response(
            "forbidden_origin", "requests from this page's origin are not accepted"
        )
    return None


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object (nothing: ``{}``); ``AccountError("bad_request")`` else."""
    try:
        raw = await request.read()
        if nested_too_deeply(raw):
            raise AccountError("bad_request", f"JSON nests more than {MAX_JSON_DEPTH} levels")
        body = json.loads(raw) if raw.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise AccountError("bad_request", "the body is not valid JSON") from None
    except ConnectionError:
        # The client left before sending its whole body; nobody will read the answer.
        raise AccountError("bad_request", "incomplete request") from None
    if not isinstance(body, dict):
        raise AccountError("bad_request", "the body must be a JSON object")
    return body


def credentials(body: dict[str, Any]) -> tuple[str, str, str | None]:
    """``username``, ``password`` and the optional invitation token of a sign-up or
    sign-in body."""
    username, password, invite = body.get("username"), body.get("password"), body.get("invite")
    if not isinstance(username, str) or not isinstance(password, str):
        raise AccountError("bad_request", 'send {"username": "...", "password": "..."}')
    if invite is not None and not isinstance(invite, str):
        raise AccountError("bad_request", "invite must be the invitation's token, a string")
    return username, password, invite


class AccountRoutes:
    """The ``/api/...`` handlers (see the module docstring; the sign-in limits are
    ``server/throttle.py``'s)."""

    def __init__(
        self,
        accounts: Accounts,
        node: Node,
        *,
        origins: Origins,
        cookie: SessionCookie,
        behind_proxy: bool = False,
        address_limit: RateLimit | None = None,
    ) -> None:
        self.accounts = accounts
        self.node = node
        self.origins = origins
        self.cookie = cookie
        self.behind_proxy = behind_proxy
        self.guard = SignInGuard(address_limit or sign_in_limit())

    def add_to(self, app: web.Application) -> None:
        app.router.add_post("/api/register", self.register)
        app.router.add_post("/api/login", self.login)
        app.router.add_post("/api/logout", self.logout)
        app.router.add_get("/api/me", self.me)
        app.router.add_post("/api/claim", self.claim)
        app.router.add_get("/claim", self.claim_page)

    def _address(self, request: web.Request) -> str:
        return client_address(request, behind_proxy=self.behind_proxy)

    def _refusal(self, request: web.Request) -> web.Response | None:
        return refusal(request, self.origins)

    async def _body(self, request: web.Request) -> dict[str, Any]:
        return await read_json(request)

    async def _credentials(self, request: web.Request) -> tuple[str, str]:
        username, password, _ = credentials(await self._body(request))
        return username, password

    def _signed_in(
        self, request: web.Request, session: Session, token: str, status: int
    ) -> web.Response:
        response = web.json_response(
            {"user": _user_json(session), "token": token, "expires": session.expires_at},
            status=status,
        )
        self.cookie.set(request, response, token)
        return response

    async def register(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        retry_after = self.guard.attempt(self._address(request))
        if retry_after:
            return throttled(retry_after)
        try:
            username, password, invite = credentials(await self._body(request))
            session, token = await self.accounts.register(username, password, invite)
        except AccountError as error:
            return error_response(error.code, error.message)
        except Unavailable:
            return error_response("unavailable", "the server cannot store accounts right now")
        return self._signed_in(request, session, token, 201)

    async def login(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        address = self._address(request)
        retry_after = self.guard.attempt(address)
        if retry_after:
            return throttled(retry_after)
        try:
            username, password = await self._credentials(request)
        except AccountError as error:
            return error_response(error.code, error.message)
        # A name that cannot exist is throttled as one account: its key stays small.
        account = username.lower() if username_problem(username) is None else ""
        verdict = self.guard.login(address, account)
        if verdict.retry_after:
            if self.guard.first_refusal(address, account):
                await self._audit_refusal(address, username if account else "")
            return throttled(verdict.retry_after)
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
        return self._signed_in(request, session, token, 200)

    async def claim(self, request: web.Request) -> web.Response:
        """Set an imported account's password with its claim token, and sign it in."""
        refused = self._refusal(request)
        if refused is not None:
            return refused
        retry_after = self.guard.attempt(self._address(request))
        if retry_after:
            return throttled(retry_after)
        try:
            body = await self._body(request)
            token, password = body.get("token"), body.get("password")
            if not isinstance(token, str) or not isinstance(password, str):
                raise AccountError("bad_request", 'send {"token": "...", "password": "..."}')
            session, session_token = await self.accounts.claim(token, password)
        except AccountError as error:
            return error_response(error.code, error.message)
        except Unavailable:
            return error_response("unavailable", "the server cannot store accounts right now")
        return self._signed_in(request, session, session_token, 200)

    async def claim_page(self, request: web.Request) -> web.FileResponse:
        """The page a claim link opens (the token is in its fragment, never sent here)."""
        return page("claim.html")

    async def _audit_refusal(self, address: str, account: str) -> None:
        """Record a sign-in refused past the limit (at most once per account and address per
        ten minutes: a guesser cannot fill the log). Never the password tried."""
        try:
            await self.accounts.store.record_audit(
                "login.throttled", actor=account or "?", target=account, address=address
            )
        except Unavailable:
            log.warning("could not record a refused sign-in in the audit log")

    async def logout(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        token = self.cookie.token(request)
        try:
            await self._body(request)  # {} (or nothing): there is nothing to say
            session = await self.accounts.logout(token, self._address(request)) if token else None
        except AccountError as error:
            return error_response(error.code, error.message)
        except Unavailable:
            return error_response("unavailable", "the server cannot sign you out right now")
        if session is not None:
            # Close this session's WebSockets, on every node.
            notice = pack_notice(RevokeNotice(token_hash=hash_token(token or "")))
            self.node.notify_user(session.user.id, notice)
        response = web.Response(status=204)
        self.cookie.delete(request, response)
        return response

    async def me(self, request: web.Request) -> web.Response:
        token = self.cookie.token(request)
        try:
            session = await self.accounts.authenticate(token) if token else None
        except Unavailable:
            return error_response("unavailable", "the server cannot check sessions right now")
        if session is None:
            # A visitor who is not signed in is an answer, not an error: a 401 here made
            # every browser log an error on every signed-out page load.
            return web.json_response({"user": None})
        return web.json_response({"user": _user_json(session), "expires": session.expires_at})
