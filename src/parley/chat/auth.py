"""Accounts and sessions: registration, sign-in, sign-out, and token checks.

* Passwords are hashed with Argon2id (``argon2-cffi``), in a worker thread so that the event
  loop never stalls on the deliberately slow hash, with at most ``MAX_CONCURRENT_HASHES`` at a
  time so that a burst of sign-ins cannot take all the memory (each hash uses
  ``memory_kib``).
* A session token is 256 random bits, shown to the client once; the store keeps only its
  SHA-256, so a stolen database does not yield usable tokens. Sessions expire.
* A failed sign-in never says whether the user exists: an unknown name costs the same hash
  work as a wrong password and gets the same answer.
* The rules of a new account live here for every way of making one (registration, an
  invitation, ``parley user add``), and the operator's ``rename``. Disabling an account and
  setting its password are ``chat/admin.py``'s, one way for the operator's commands and the
  admin page. A sign-in that upgrades the password's hash to today's cost keeps the sessions:
  it is the same password.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from parley.chat.registration import INVITE_REFUSALS, Registration, RegistrationMode
from parley.clock import now_ms
from parley.model import OPERATOR, Actor, Event, Session, User
from parley.protocol.names import password_problem, username_problem
from parley.store.base import LOBBY, Conflict, InviteRefused, Store

MAX_CONCURRENT_HASHES = 2
DEFAULT_SESSION_TTL = 30 * 24 * 3600.0  # seconds
#: Longest invitation token accepted (a real one is 43 characters): longer is refused unread.
MAX_TOKEN_CHARS = 128


class AccountError(Exception):
    """A refused account operation. ``code`` is stable; ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class HashCost:
    """Argon2id parameters. The defaults are RFC 9106's second recommended option."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4

    def hasher(self) -> PasswordHasher:
        return PasswordHasher(
            time_cost=self.time_cost, memory_cost=self.memory_kib, parallelism=self.parallelism
        )


def new_token() -> str:
    """A fresh session token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What the store keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_problem(token: object) -> str | None:
    """Why ``token`` cannot be an invitation's token, or None."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        return f"an invitation token is a string of at most {MAX_TOKEN_CHARS} characters"
    return None


class Accounts:
    """See the module docstring."""

    def __init__(
        self,
        store: Store,
        *,
        cost: HashCost | None = None,
        session_ttl: float = DEFAULT_SESSION_TTL,
        registration: str = RegistrationMode.OPEN,
        publish: Callable[[Event], None] | None = None,
    ) -> None:
        self.store = store
        #: Where the lobby join event of a new account goes (the node); without one (the CLI),
        #: a running server picks the event up from the store within seconds.
        self.publish = publish
        self.session_ttl = session_ttl
        #: Who may register: the flag's default, or what an admin stored (every node reads it).
        self.registration = Registration(store, registration)
        self._hasher = (cost or HashCost()).hasher()
        self._hash_slots = asyncio.Semaphore(MAX_CONCURRENT_HASHES)
        self._dummy_hash: str | None = None

    async def hash_password(self, password: str) -> str:
        async with self._hash_slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def _verify(self, password_hash: str, password: str) -> bool:
        def verify() -> bool:
            try:
                return self._hasher.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

        async with self._hash_slots:
            return await asyncio.to_thread(verify)

    async def create_user(
        self,
        name: str,
        password: str,
        *,
        admin: bool | None = None,
        check_password: bool = True,
        actor: Actor | None = None,
    ) -> User:
        """Validate and create an account (the operator's CLI and registration use this).
        ``actor``: who creates it for someone else (audited); None for a registration."""
        password_hash = await self._new_account_hash(name, password, check_password)
        try:
            user = await self.store.create_user(name, password_hash, admin=admin, actor=actor)
        except Conflict:
            raise AccountError("username_taken", f"the name {name!r} is taken") from None
        # Everyone starts in the lobby, as in the tutorial's one-room chat.
        lobby = await self.store.get_room(LOBBY)
        if lobby is not None:
            event = await self.store.join(lobby.id, user.id, user.name)
            if event is not None and self.publish is not None:
                self.publish(event)
        return user

    async def _new_account_hash(self, name: str, password: str, check_password: bool) -> str:
        """Check a new account's name and password as every way of creating one does; the
        password's hash."""
        problem = username_problem(name)
        if problem:
            raise AccountError("invalid_username", problem)
        problem = password_problem(password, name) if check_password else None
        if problem:
            raise AccountError("weak_password", problem)
        if await self.store.get_user(name) is not None:
            raise AccountError("username_taken", f"the name {name!r} is taken")
        return await self.hash_password(password)

    async def register(
        self, name: str, password: str, invite: str | None = None
    ) -> tuple[Session, str]:
        """Create an account and sign it in, as the registration mode allows: anyone
        (``open``), with an invitation token (``invite``; in ``open`` too, for its rooms),
        nobody (``closed``). Returns the session and its token."""
        mode = await self.registration.mode()
        if mode is RegistrationMode.CLOSED:
            raise AccountError("registration_closed", "registration is closed on this server")
        if invite is None:
            if mode is RegistrationMode.INVITE:
                raise AccountError(
                    "invite_required", "this server needs an invitation link to create an account"
                )
            user = await self.create_user(name, password)
            return await self._start_session(user)
        if token_problem(invite):
            raise AccountError("invite_invalid", INVITE_REFUSALS["unknown"])
        password_hash = await self._new_account_hash(name, password, True)
        try:
            user, events = await self.store.redeem_account_invite(
                hash_token(invite), name, password_hash, now_ms()
            )
        except InviteRefused as refused:
            raise AccountError("invite_invalid", INVITE_REFUSALS[refused.reason]) from None
        except Conflict:
            raise AccountError("username_taken", f"the name {name!r} is taken") from None
        if self.publish is not None:
            for event in events:
                self.publish(event)
        return await self._start_session(user)

    async def login(self, name: str, password: str) -> tuple[Session, str]:
        """Sign in. Raises ``AccountError("wrong_credentials")`` whatever was wrong."""
        user = await self.store.get_user(name) if username_problem(name) is None else None
        if user is None:
            await self._verify(await self._dummy(), password)
            raise AccountError("wrong_credentials", "wrong user name or password")
        if not await self._verify(user.password_hash, password):
            raise AccountError("wrong_credentials", "wrong user name or password")
        if user.disabled:
            raise AccountError("account_disabled", "this account is disabled")
        if self._hasher.check_needs_rehash(user.password_hash):
            # The same password at today's cost: its sessions stay (``rehash_password``).
            upgraded = await self.hash_password(password)
            await self.store.rehash_password(user.id, user.password_hash, upgraded)
        return await self._start_session(user)

    async def claim(self, token: str, password: str) -> tuple[Session, str]:
        """Set the password of an imported account with its claim token (single use), and
        sign it in. ``AccountError("invalid_claim")`` for a token that is unknown, used or
        expired; the password is checked as at registration."""
        live = await self.store.claimable(hash_token(token), now_ms()) if token else None
        if live is None or len(token) > 512:
            raise AccountError("invalid_claim", "this claim link is unknown, used or expired")
        if live.disabled:
            raise AccountError("account_disabled", "this account is disabled")
        problem = password_problem(password, live.name)
        if problem:
            raise AccountError("weak_password", problem)
        password_hash = await self.hash_password(password)
        claimed = await self.store.claim(hash_token(token), password_hash, now_ms())
        if claimed is None:
            raise AccountError("invalid_claim", "this claim link is unknown, used or expired")
        return await self._start_session(claimed)

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash_password(new_token())
        return self._dummy_hash

    async def _start_session(self, user: User) -> tuple[Session, str]:
        token = new_token()
        expires = now_ms() + int(self.session_ttl * 1000)
        session = await self.store.create_session(user.id, hash_token(token), expires)
        return session, token

    async def authenticate(self, token: str) -> Session | None:
        """The live session of ``token``, or None (unknown, expired, revoked, disabled)."""
        if not token or len(token) > 512:
            return None
        return await self.store.get_session(hash_token(token), now_ms())

    async def logout(self, token: str, address: str | None = None) -> Session | None:
        """Revoke the session of ``token``; returns it (None if it was not live). A live one's
        end is audited (``session.end``, by its user, from ``address``)."""
        session = await self.authenticate(token)
        actor = None if session is None else Actor(session.user.name, session.user.id, address)
        await self.store.delete_session(hash_token(token), actor=actor)
        return session

    # -- the operator's actions ------------------------------------------------------------

    async def find_user(self, name: str) -> User:
        """The account ``name`` (any case), or ``#ID`` (the way to name an account whose name
        is awkward to type: see ``parley check``); ``AccountError("not_found")`` if none."""
        if name.startswith("#") and name[1:].isdigit():
            user = await self.store.get_user_by_id(int(name[1:]))
        else:
            user = await self.store.get_user(name)
        if user is None:
            raise AccountError("not_found", f"no user named {name!r}")
        return user

    # Audited with ``actor`` (the operator's ``parley`` command by default). Disabling an
    # account and setting its password are ``chat/admin.py``'s: one way for the operator's
    # commands and the admin page.

    async def rename(
        self, name: str, new_name: str, actor: Actor = OPERATOR
    ) -> tuple[User, list[Event]]:
        """Rename the account ``name`` (a new name follows the rules of a chosen one) wherever
        its name is stored, and end its sessions: it signs in again under the new name.
        Returns the renamed user and the ``rename`` events of its direct rooms (whose names
        are made of the users' names)."""
        user = await self.find_user(name)
        problem = username_problem(new_name)
        if problem:
            raise AccountError("invalid_username", problem)
        try:
            renamed, events = await self.store.rename_user(user.id, new_name, actor=actor)
        except Conflict:
            raise AccountError("username_taken", f"the name {new_name!r} is taken") from None
        return renamed, events
