"""One ``parley.v1`` connection's life: authenticate → welcome → commands and stream → closed.

Theory of operation. A connection is in one :class:`Phase` at a time; every allowed change is
in :data:`TRANSITIONS`, and :meth:`ChatConnection._enter` refuses any other. What happens to a
frame depends only on the phase:

============== =========================================================================
phase          a frame that decodes
============== =========================================================================
AWAITING_AUTH  ``auth`` starts signing in; anything else is refused and the connection
               closed with 1008 (so is a frame that does not decode)
SIGNING_IN     queued: it runs once the ``welcome`` is sent, or is dropped if signing in
               fails
SIGNED_IN      run, in arrival order; ``send`` is pipelined once the stream has started
CLOSING        ignored (the server is closing the connection)
CLOSED         ignored
============== =========================================================================

A client authenticated during the handshake (cookie or bearer token) starts in SIGNING_IN.

Frames are decoded as they arrive: a bad one gets an ``error`` at once, and the connection
stays usable. Valid commands run one after another on a worker task that exists only while
there is work, so idle connections cost no task. Sends are pipelined: a ``send`` is handed to
the store at once and the next command proceeds; any other command first waits for the sends
before it, so that, say, a ``leave`` never overtakes them. Every frame takes a rate-limit
token: before authentication from the connection's own bucket, then from the user's, shared
by all the user's connections on this server and kept after they close (so reconnecting does
not refill it). ``typing`` takes from its own small bucket first (:data:`TYPING_RATE`), and
from the user's once that is empty, so a typing flood meets the same ``rate_limited`` errors
and 4003 as any other. Over the limit a ``parley.v1`` client is refused with
``rate_limited`` rather than slowed: it can be told, and it learns which command was refused.

Input backpressure: every command read counts as in flight (``chat/inflight.py``) until it
has run; past the connection's bound or the node's, the socket is not read until the work
catches up.

What commands do is in ``chat/commands/``; the signed-in state they share, in
``chat/signed_in.py``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from enum import Enum

from parley.chat.auth import Accounts
from parley.chat.commands import dispatch
from parley.chat.commands.messages import send
from parley.chat.inflight import InFlight
from parley.chat.node import Node
from parley.chat.ratelimit import RateLimit, TokenBucket
from parley.chat.signed_in import ChatConfig, Job, SignedIn
from parley.model import Session
from parley.peer import CloseCode, Peer
from parley.protocol import messages as m
from parley.protocol.codec import decode_command, encode
from parley.protocol.errors import ErrorCode, ProtocolError
from parley.store.base import StoreError

log = logging.getLogger(__name__)


#: ``typing`` notices a user may send, across connections, before they cost ordinary tokens:
#: a person types in a few rooms at once at most, and notices repeat every few seconds.
TYPING_RATE = RateLimit(rate=1.0, burst=10)


class Phase(Enum):
    NEW = "new"
    AWAITING_AUTH = "awaiting auth"
    SIGNING_IN = "signing in"
    SIGNED_IN = "signed in"
    CLOSING = "closing"
    CLOSED = "closed"


TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    Phase.NEW: frozenset({Phase.AWAITING_AUTH, Phase.SIGNING_IN, Phase.CLOSED}),
    Phase.AWAITING_AUTH: frozenset({Phase.SIGNING_IN, Phase.CLOSING, Phase.CLOSED}),
    Phase.SIGNING_IN: frozenset({Phase.SIGNED_IN, Phase.CLOSING, Phase.CLOSED}),
    Phase.SIGNED_IN: frozenset({Phase.CLOSING, Phase.CLOSED}),
    Phase.CLOSING: frozenset({Phase.CLOSED}),
    Phase.CLOSED: frozenset(),
}

#: Phases in which frames from the client are no longer looked at.
_DEAF = frozenset({Phase.CLOSING, Phase.CLOSED})


class ChatConnection:
    """The handler of one ``parley.v1`` connection; see the module docstring. ``login`` is
    the sign-in session when the handshake already authenticated the client."""

    def __init__(
        self, node: Node, accounts: Accounts, config: ChatConfig, *, login: Session | None = None
    ) -> None:
        self.node = node
        self.accounts = accounts
        self.config = config
        self.conn_id = secrets.token_hex(8)
        self.phase = Phase.NEW
        self.peer: Peer | None = None
        #: Built once signed in: what commands run with.
        self.signed_in: SignedIn | None = None
        self._login = login
        self._inbox: deque[Job] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._auth_timer: asyncio.TimerHandle | None = None
        self._detached = False
        self._flight: InFlight | None = None
        # Until the user is known, the connection has its own bucket; then the user's (looked
        # up at each command: the node's table may have forgotten a full one meanwhile).
        self._own_bucket = TokenBucket(config.rate)
        self._user: int | None = login.user.id if login else None

    def _enter(self, phase: Phase) -> None:
        if phase not in TRANSITIONS[self.phase]:
            raise RuntimeError(f"a chat connection cannot go from {self.phase} to {phase}")
        self.phase = phase

    # -- what the WebSocket connection reports ---------------------------------------------

    def on_open(self, conn: Peer) -> None:
        self.peer = conn
        self._flight = InFlight(conn, self.node.work)
        login = self._login
        if login is not None:
            self._enter(Phase.SIGNING_IN)
            self._enqueue(lambda: self._setting_up(lambda: self._sign_in(login)))
        else:
            self._enter(Phase.AWAITING_AUTH)
            loop = asyncio.get_running_loop()
            self._auth_timer = loop.call_later(self.config.auth_timeout, self._auth_timed_out)

    def on_text(self, conn: Peer, text: str) -> None:
        if self.phase in _DEAF:
            return
        try:
            command = decode_command(text, max_text=self.config.max_text)
        except ProtocolError as error:
            if self._over_limit(error.re):
                return
            self._send_error(error)
            if self.phase is Phase.AWAITING_AUTH:
                # The first frame of a connection that must authenticate was not even valid.
                self.close(CloseCode.POLICY_VIOLATION, "authenticate first")
            return
        if isinstance(command, m.Typing) and self._typing_token():
            pass  # typing notices take from their own bucket first
        elif self._over_limit(command.id):
            return
        size = len(text)
        flight = self._flight
        assert flight is not None  # set by on_open
        flight.start(size)
        if self.phase is Phase.AWAITING_AUTH:
            self._authenticate(command, size)
            return
        signed_in = self.signed_in
        if isinstance(command, m.Send) and signed_in is not None and signed_in.streaming:
            self._enqueue_send(signed_in, command, size)
            return

        async def run() -> None:
            try:
                await self._run(command)
            finally:
                flight.finish(size)

        self._enqueue(run)

    def on_binary(self, conn: Peer, data: bytes) -> None:
        if self.phase in _DEAF or self._over_limit(None):
            return
        self._send_error(
            ProtocolError(ErrorCode.BAD_REQUEST, "parley.v1 frames are JSON text, not binary")
        )

    def on_closed(self, conn: Peer) -> None:
        self._enter(Phase.CLOSED)
        self._inbox.clear()
        if self._flight is not None:
            self._flight.close()
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        if self.signed_in is not None:
            self.signed_in.end()
        if self._worker is None:
            self._detach_once()
        # else: the worker detaches when it finishes the job in progress (see _work), so that
        # a welcome still attaching cannot re-attach a closed connection.

    # -- sending and closing ---------------------------------------------------------------

    def _send(self, message: m.ServerMessage) -> None:
        if self.peer is not None and self.phase is not Phase.CLOSED:
            self.peer.send_encoded_text(encode(message))

    def _send_error(self, error: ProtocolError) -> None:
        self._send(m.Error(re=error.re, code=error.code.value, message=error.message))

    def close(self, code: int, reason: str) -> None:
        """Close the connection with ``code``; frames that still arrive are ignored."""
        if self.phase in _DEAF or self.peer is None:
            return
        self._enter(Phase.CLOSING)
        self.peer.close(code, reason)

    @property
    def _bucket(self) -> TokenBucket:
        if self._user is None:
            return self._own_bucket
        return self.node.bucket(self._user, self.config.rate)

    def _typing_token(self) -> bool:
        """Take a token from the user's typing bucket (False before sign-in, or none left)."""
        return self._user is not None and self.node.bucket(self._user, TYPING_RATE, "typing").take()

    def _over_limit(self, re: str | None) -> bool:
        """Take a token for one frame; refuse it (and, past the burst, disconnect) if none."""
        bucket = self._bucket
        if bucket.take():
            return False
        if bucket.abusive:
            log.info(
                "disconnecting a client that kept flooding",
                extra={"event": "rate_limit_close", "user": self._user_id},
            )
            self.close(CloseCode.RATE_LIMITED, "too many messages")
        else:
            self._send_error(
                ProtocolError(ErrorCode.RATE_LIMITED, "too many commands; slow down", re)
            )
        self.node.stats.rate_limited += 1
        return True

    @property
    def _user_id(self) -> int:
        return self.signed_in.user_id if self.signed_in is not None else 0

    # -- the order of work -----------------------------------------------------------------

    def _enqueue(self, job: Job) -> None:
        if self.phase is Phase.CLOSED:
            return
        self._inbox.append(job)
        if self._worker is None:
            self._worker = asyncio.create_task(self._work())

    async def _work(self) -> None:
        try:
            while self._inbox and self.phase is not Phase.CLOSED:
                job = self._inbox.popleft()
                await job()
        finally:
            self._worker = None
            if self.phase is Phase.CLOSED:
                self._detach_once()

    def _enqueue_send(self, signed_in: SignedIn, command: m.Send, size: int) -> None:
        if self._inbox or self._worker is not None:
            # Earlier commands are still running: keep the order.
            async def start_later() -> None:
                self._start_send(signed_in, command, size)

            self._enqueue(start_later)
            return
        self._start_send(signed_in, command, size)

    def _start_send(self, signed_in: SignedIn, command: m.Send, size: int) -> None:
        task = asyncio.create_task(signed_in.guarded(command, lambda: send(signed_in, command)))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)
        flight = self._flight
        if flight is not None:
            task.add_done_callback(lambda _: flight.finish(size))

    async def _run(self, command: m.AnyCommand) -> None:
        if not isinstance(command, m.Send) and self._sends:
            await asyncio.gather(*self._sends, return_exceptions=True)
        signed_in = self.signed_in
        if signed_in is None or self.phase is not Phase.SIGNED_IN:
            return  # signing in failed, or the connection is closing
        await signed_in.guarded(command, lambda: dispatch(signed_in, command))

    # -- authentication and welcome --------------------------------------------------------

    def _authenticate(self, command: m.AnyCommand, size: int) -> None:
        """The first command of a connection that did not authenticate in the handshake."""
        if self._flight is not None:
            self._flight.finish(size)  # (signing in is bounded by the phase: one at a time)
        if not isinstance(command, m.Auth):
            self._send_error(ProtocolError(ErrorCode.UNAUTHORIZED, "send auth first", command.id))
            self.close(CloseCode.POLICY_VIOLATION, "authenticate first")
            return
        if self._auth_timer is not None:
            self._auth_timer.cancel()
            self._auth_timer = None
        self._enter(Phase.SIGNING_IN)
        self._enqueue(lambda: self._setting_up(lambda: self._check_token(command)))

    def _auth_timed_out(self) -> None:
        self._auth_timer = None
        if self.phase is Phase.AWAITING_AUTH:
            self._send_error(ProtocolError(ErrorCode.UNAUTHORIZED, "authentication timed out"))
            self.close(CloseCode.POLICY_VIOLATION, "authentication timeout")

    async def _setting_up(self, job: Job) -> None:
        """Authentication and welcome: a client cannot go on without them, so if they fail
        (the database is down) it is told so and closed with 1013: try again later."""
        try:
            await job()
        except Exception as exc:
            if not isinstance(exc, StoreError):
                log.exception("internal error while welcoming user %s", self._user_id)
            self._send_error(
                ProtocolError(ErrorCode.UNAVAILABLE, "the server cannot sign you in right now")
            )
            self.close(CloseCode.TRY_AGAIN_LATER, "try again later")

    async def _check_token(self, command: m.Auth) -> None:
        login = await self.accounts.authenticate(command.token)
        if login is None:
            self._send_error(
                ProtocolError(ErrorCode.UNAUTHORIZED, "invalid or expired token", command.id)
            )
            self.close(CloseCode.POLICY_VIOLATION, "authentication failed")
            return
        self._user = login.user.id
        await self._sign_in(login)

    async def _sign_in(self, login: Session) -> None:
        assert self.peer is not None  # set by on_open, which queued this
        signed_in = SignedIn(
            self.node,
            self.config,
            self.peer,
            login,
            self.conn_id,
            send=self._send,
            enqueue=self._enqueue,
            close=self.close,
        )
        self.signed_in = signed_in
        await signed_in.welcome()
        if self.phase is Phase.SIGNING_IN:
            self._enter(Phase.SIGNED_IN)

    def _detach_once(self) -> None:
        signed_in = self.signed_in
        if signed_in is not None and signed_in.attached and not self._detached:
            self._detached = True
            self.node.spawn(signed_in.detach())
