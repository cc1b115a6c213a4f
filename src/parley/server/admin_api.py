"""The admin API (``/api/admin/...``) behind the /admin page, and the invitation requests
(``/api/invites...``), as JSON over HTTP.

The same rules as the account API (``server/api.py``): a request that changes something must
be JSON (``Content-Type: application/json``) and must not come from another origin's page
(:func:`~parley.server.api.refusal`), refused before any work. Every ``/api/admin`` request,
reading ones included, needs the session of a server admin (cookie or ``Authorization:
Bearer``): none is ``401 unauthorized``, a member's ``403 forbidden``. The actions are
:class:`~parley.chat.admin.ServerAdmin`'s, each recorded in the audit log with the admin's
name and the client's address.

Invitation tokens travel only in request bodies, never in a URL path or query, which the
access log would keep. Each request that tries a token (``check``, ``accept``) is charged to
the client's address in the sign-in limit (``--auth-rate``, the same
:class:`~parley.server.throttle.SignInGuard` as sign-ins, registrations and claims): an
address guessing tokens gets ``429`` with ``Retry-After``, however it spreads its guesses
over those requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from parley.chat.admin import ServerAdmin
from parley.chat.auth import AccountError, Accounts
from parley.chat.invites import MAX_INVITE_ROOMS, Invites
from parley.chat.registration import RegistrationMode
from parley.clock import now_ms
from parley.config import sign_in_limit
from parley.model import Actor, Invite, InviteKind, Room, Session, User
from parley.server.api import error_response, read_json, refusal, throttled
from parley.server.cookies import SessionCookie
from parley.server.endpoint import client_address
from parley.server.origins import Origins
from parley.server.throttle import SignInGuard
from parley.store.base import Unavailable
from parley.store.sql.admin_ops import SESSION_ID_CHARS

#: Longest search text or page position accepted.
MAX_QUERY: Final = 64

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "admin": user.is_admin,
        "disabled": user.disabled,
        "created": user.created_at,
    }


def room_json(room: Room, members: int) -> dict[str, Any]:
    return {
        "id": room.id,
        "name": room.name,
        "kind": room.kind.value,
        "archived": room.archived,
        "members": members,
    }


def session_json(session: Session) -> dict[str, Any]:
    return {
        "id": session.token_hash[:SESSION_ID_CHARS],
        "created": session.created_at,
        "expires": session.expires_at,
    }


def invite_json(invite: Invite, now: int) -> dict[str, Any]:
    return {
        "id": invite.id,
        "kind": invite.kind.value,
        "created_by": invite.created_by,
        "created": invite.created_at,
        "expires": invite.expires_at,
        "rooms": [name for _, name in invite.rooms],
        "state": invite.state(now),
        "used_by": invite.used_by,
    }


def _text(value: object, what: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or len(value) > MAX_QUERY or (not empty and not value):
        raise AccountError("bad_request", f"{what} must be a string of at most {MAX_QUERY}")
    return value


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    if not isinstance(value, bool):
        raise AccountError("bad_request", f"{key} must be true or false")
    return value


def _page(request: web.Request) -> tuple[str, str | None]:
    query = _text(request.query.get("q", ""), "q", empty=True)
    after = request.query.get("after")
    return query, None if after is None else _text(after, "after")


class AdminRoutes:
    """The handlers (see the module docstring)."""

    def __init__(
        self,
        admin: ServerAdmin,
        invites: Invites,
        *,
        origins: Origins,
        cookie: SessionCookie,
        figures: Callable[[], Awaitable[dict[str, Any]]],
        public_url: str | None = None,
        behind_proxy: bool = False,
        guard: SignInGuard | None = None,
    ) -> None:
        self.admin = admin
        self.accounts: Accounts = admin.accounts
        self.invites = invites
        self.origins = origins
        self.cookie = cookie
        self.figures = figures
        self.public_url = public_url
        self.behind_proxy = behind_proxy
        #: The account API's (one budget per address for every kind of guess), or one of its own.
        self.guard = guard or SignInGuard(sign_in_limit())

    def add_to(self, app: web.Application) -> None:
        get, post = app.router.add_get, app.router.add_post
        get("/api/admin/users", self._admin(self.users))
        post("/api/admin/users/disabled", self._admin(self.set_disabled, change=True))
        post("/api/admin/users/password", self._admin(self.reset_password, change=True))
        post("/api/admin/users/admin", self._admin(self.set_admin, change=True))
        get("/api/admin/users/sessions", self._admin(self.sessions))
        post("/api/admin/users/sessions/end", self._admin(self.end_session, change=True))
        get("/api/admin/rooms", self._admin(self.rooms))
        post("/api/admin/rooms/archived", self._admin(self.set_archived, change=True))
        post("/api/admin/rooms/delete", self._admin(self.delete_room, change=True))
        post("/api/admin/rooms/owner", self._admin(self.change_owner, change=True))
        get("/api/admin/settings", self._admin(self.settings))
        post("/api/admin/settings", self._admin(self.change_settings, change=True))
        get("/api/admin/stats", self._admin(self.stats))
        get("/api/admin/invites", self._admin(self.list_invites))
        post("/api/admin/invites/revoke", self._admin(self.revoke_invite, change=True))
        post("/api/invites", self._signed_in(self.create_invite))
        post("/api/invites/check", self._guarded(self.check_invite))
        post("/api/invites/accept", self._signed_in(self.accept_invite))

    # -- who may ---------------------------------------------------------------------------

    async def _session(self, request: web.Request) -> Session:
        token = self.cookie.token(request)
        session = await self.accounts.authenticate(token) if token else None
        if session is None:
            raise AccountError("unauthorized", "sign in first")
        return session

    def _actor(self, request: web.Request, user: User) -> Actor:
        return Actor(user.name, user.id, client_address(request, behind_proxy=self.behind_proxy))

    def _wrap(self, run: Callable[[web.Request], Awaitable[web.Response]], change: bool) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            if change:
                refused = refusal(request, self.origins)
                if refused is not None:
                    return refused
            try:
                return await run(request)
            except AccountError as error:
                return error_response(error.code, error.message)
            except Unavailable:
                return error_response("unavailable", "the server cannot do that right now")

        return handle

    def _admin(
        self,
        action: Callable[[web.Request, Actor], Awaitable[web.Response]],
        *,
        change: bool = False,
    ) -> Handler:
        async def run(request: web.Request) -> web.Response:
            session = await self._session(request)
            if not session.user.is_admin:
                raise AccountError("forbidden", "only server administrators may do this")
            return await action(request, self._actor(request, session.user))

        return self._wrap(run, change)

    def _signed_in(
        self, action: Callable[[web.Request, Session], Awaitable[web.Response]]
    ) -> Handler:
        async def run(request: web.Request) -> web.Response:
            return await action(request, await self._session(request))

        return self._wrap(run, True)

    def _guarded(self, action: Callable[[web.Request], Awaitable[web.Response]]) -> Handler:
        return self._wrap(action, True)

    # -- users -------------------------------------------------------------------------------

    async def users(self, request: web.Request, _: Actor) -> web.Response:
        query, after = _page(request)
        found = await self.admin.users(query, after)
        return web.json_response({"users": [user_json(u) for u in found]})

    async def _user_body(self, request: web.Request) -> tuple[dict[str, Any], str]:
        body = await read_json(request)
        return body, _text(body.get("user"), "user")

    async def set_disabled(self, request: web.Request, actor: Actor) -> web.Response:
        body, name = await self._user_body(request)
        user = await self.admin.set_disabled(name, _flag(body, "disabled"), actor)
        return web.json_response({"user": user_json(user)})

    async def reset_password(self, request: web.Request, actor: Actor) -> web.Response:
        body, name = await self._user_body(request)
        password = body.get("password")
        if not isinstance(password, str):
            raise AccountError("bad_request", "password must be a string")
        user = await self.admin.reset_password(name, password, actor)
        return web.json_response({"user": user_json(user)})

    async def set_admin(self, request: web.Request, actor: Actor) -> web.Response:
        body, name = await self._user_body(request)
        user = await self.admin.set_admin(name, _flag(body, "admin"), actor)
        return web.json_response({"user": user_json(user)})

    async def sessions(self, request: web.Request, _: Actor) -> web.Response:
        name = _text(request.query.get("user"), "user")
        user, found = await self.admin.sessions(name)
        return web.json_response(
            {"user": user_json(user), "sessions": [session_json(s) for s in found]}
        )

    async def end_session(self, request: web.Request, actor: Actor) -> web.Response:
        body, name = await self._user_body(request)
        session_id = body.get("session")
        if not isinstance(session_id, str) or len(session_id) != SESSION_ID_CHARS:
            raise AccountError("bad_request", f"session must be {SESSION_ID_CHARS} characters")
        await self.admin.end_session(name, session_id, actor)
        return web.json_response({"ended": session_id})

    # -- rooms -------------------------------------------------------------------------------

    async def rooms(self, request: web.Request, _: Actor) -> web.Response:
        query, after = _page(request)
        found = await self.admin.rooms(query, after)
        return web.json_response({"rooms": [room_json(r, members) for r, members in found]})

    async def set_archived(self, request: web.Request, actor: Actor) -> web.Response:
        body = await read_json(request)
        name = _text(body.get("room"), "room")
        room, _ = await self.admin.set_archived(name, _flag(body, "archived"), actor)
        return web.json_response(
            {"room": {"id": room.id, "name": room.name, "archived": room.archived}}
        )

    async def delete_room(self, request: web.Request, actor: Actor) -> web.Response:
        body = await read_json(request)
        room, members = await self.admin.delete_room(_text(body.get("room"), "room"), actor)
        return web.json_response({"deleted": room.name, "members": len(members)})

    async def change_owner(self, request: web.Request, actor: Actor) -> web.Response:
        body = await read_json(request)
        room, events = await self.admin.change_owner(
            _text(body.get("room"), "room"), _text(body.get("user"), "user"), actor
        )
        return web.json_response({"room": room.name, "owner": body["user"], "events": len(events)})

    # -- settings and figures ---------------------------------------------------------------

    async def _settings_json(self) -> dict[str, Any]:
        registration = self.accounts.registration
        return {
            "registration": (await registration.mode()).value,
            "registration_default": registration.default.value,
            "member_invites": await registration.member_invites(),
        }

    async def settings(self, request: web.Request, _: Actor) -> web.Response:
        return web.json_response(await self._settings_json())

    async def change_settings(self, request: web.Request, actor: Actor) -> web.Response:
        body = await read_json(request)
        unknown = set(body) - {"registration", "member_invites"}
        if unknown or not body:
            raise AccountError(
                "bad_request", "send registration (open, invite, closed) and/or member_invites"
            )
        mode = None
        if "registration" in body:
            try:
                mode = RegistrationMode(body["registration"])
            except ValueError:
                raise AccountError(
                    "bad_request", "registration must be open, invite or closed"
                ) from None
        member_invites = _flag(body, "member_invites") if "member_invites" in body else None
        registration = self.accounts.registration
        if mode is not None:
            await registration.set_mode(mode, actor)
        if member_invites is not None:
            await registration.set_member_invites(member_invites, actor)
        return web.json_response(await self._settings_json())

    async def stats(self, request: web.Request, _: Actor) -> web.Response:
        """Every node's figures and their totals (``figures/totals.py``)."""
        return web.json_response(await self.figures())

    # -- invitations -----------------------------------------------------------------------

    async def list_invites(self, request: web.Request, _: Actor) -> web.Response:
        before_text = request.query.get("before")
        before = None
        if before_text is not None:
            if not before_text.isdigit() or len(before_text) > 18:
                raise AccountError("bad_request", "before must be an invitation's id")
            before = int(before_text)
        found = await self.admin.store.list_invites(before=before, limit=50)
        now = now_ms()
        return web.json_response({"invites": [invite_json(i, now) for i in found]})

    async def revoke_invite(self, request: web.Request, actor: Actor) -> web.Response:
        body = await read_json(request)
        invite_id = body.get("id")
        if not isinstance(invite_id, int) or isinstance(invite_id, bool) or invite_id < 1:
            raise AccountError("bad_request", "id must be an invitation's id")
        invite = await self.invites.revoke(invite_id, actor)
        return web.json_response({"invite": invite_json(invite, now_ms())})

    def _link(self, request: web.Request, token: str) -> str:
        base = self.public_url.rstrip("/") if self.public_url else self.origins.own(request)
        return f"{base}/?invite={token}"

    async def create_invite(self, request: web.Request, session: Session) -> web.Response:
        body = await read_json(request)
        try:
            kind = InviteKind(body.get("kind", "account"))
        except ValueError:
            raise AccountError("bad_request", "kind must be account or room") from None
        rooms = body.get("rooms", [])
        if (
            not isinstance(rooms, list)
            or len(rooms) > MAX_INVITE_ROOMS
            or not all(isinstance(r, str) and 0 < len(r) <= MAX_QUERY for r in rooms)
        ):
            raise AccountError(
                "bad_request", f"rooms must be a list of at most {MAX_INVITE_ROOMS} room names"
            )
        ttl = body.get("expires_in", 7 * 24 * 3600)
        if not isinstance(ttl, int) or isinstance(ttl, bool):
            raise AccountError("bad_request", "expires_in must be a number of seconds")
        created = await self.invites.create(
            kind,
            session.user,
            rooms,
            ttl,
            actor=self._actor(request, session.user),
            member_invites=await self.accounts.registration.member_invites(),
        )
        return web.json_response(
            {
                "invite": invite_json(created.invite, now_ms()),
                "token": created.token,
                "link": self._link(request, created.token),
            },
            status=201,
        )

    def _too_many_tries(self, request: web.Request) -> web.Response | None:
        """429 when the client's address is over the sign-in limit; else its try is charged."""
        address = client_address(request, behind_proxy=self.behind_proxy)
        retry_after = self.guard.attempt(address)
        return throttled(retry_after) if retry_after else None

    async def check_invite(self, request: web.Request) -> web.Response:
        if refused := self._too_many_tries(request):
            return refused
        body = await read_json(request)
        invite = await self.invites.check(body.get("token"))
        return web.json_response(
            {
                "kind": invite.kind.value,
                "rooms": [name for _, name in invite.rooms],
                "expires": invite.expires_at,
                "by": invite.created_by,
            }
        )

    async def accept_invite(self, request: web.Request, session: Session) -> web.Response:
        if refused := self._too_many_tries(request):
            return refused
        body = await read_json(request)
        events = await self.invites.join_rooms(body.get("token"), session.user)
        return web.json_response({"joined": [event.room for event in events]})
