"""The chat server behind ``parley serve``: its parts, their life cycle, and its routes.

* ``GET /`` serves the browser client; ``/static/...`` its files (``/favicon.ico`` its icon);
  ``/healthz`` the health.
* ``/api/...`` the account API (``server/api.py``); ``POST /api/uploads`` files
  (``server/uploads.py``), served at ``/files/...``, ``/thumbs/...``, ``/avatars/...``
  (``server/files.py``); ``/api/admin/...`` and ``/api/invites...`` the admin API and
  invitations (``server/admin_api.py``); ``GET /admin`` the admin page.
* A WebSocket handshake on ``/ws`` or ``/`` with the subprotocol ``parley.v1`` is a chat
  connection (``chat/connection.py``), authenticated during the handshake by the session cookie or
  ``Authorization: Bearer`` (an invalid token is refused with 401 there and then), or by an
  ``auth`` frame. Without a subprotocol it is one of the tutorial's plain-text clients, a guest
  in the lobby (``chat/guests.py``), unless guests are switched off.
* ``GET /metrics`` (unless switched off) serves Prometheus metrics (``server/metrics.py``),
  only to ``Authorization: Bearer <--metrics-token>`` when a token is set.

Every request, WebSocket handshakes included, must name an allowed host (``server/hosts.py``:
DNS rebinding), or gets ``421``. Cross-site WebSocket hijacking is stopped at the handshake:
a ``parley.v1`` request must pass the origin policy of ``server/origins.py``, like the account
API's state-changing requests. Plain-text guests carry no credentials, so any page may open
one (the tutorial's own pages are opened from ``file://``, whose origin is ``null``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable

from aiohttp import web

from parley import __version__
from parley.backends import (
    open_blobs,
    open_broker,
    open_figure_board,
    open_presence,
    open_store,
)
from parley.broker.base import Broker
from parley.chat.admin import Effects, ServerAdmin
from parley.chat.audit_retention import remove_expired
from parley.chat.auth import Accounts
from parley.chat.connection import ChatConnection
from parley.chat.guests import GuestLimits, Guests
from parley.chat.invites import Invites
from parley.chat.node import Node, new_node_id
from parley.chat.operator import name_problems
from parley.chat.ratelimit import RateLimit
from parley.chat.signed_in import ChatConfig, SignedIn
from parley.clock import now_ms
from parley.config import ServeSettings
from parley.figures.base import FigureBoard
from parley.figures.publisher import FigurePublisher
from parley.files.blobs import BlobStore
from parley.files.collector import collect
from parley.mail.mailer import Mailer
from parley.mail.smtp import SmtpTarget
from parley.presence.base import Presence
from parley.server.admin_api import AdminRoutes
from parley.server.api import AccountRoutes, error_response
from parley.server.cookies import SessionCookie
from parley.server.endpoint import WebSocketEndpoint
from parley.server.files import FileRoutes
from parley.server.hosts import HostPolicy
from parley.server.metrics import Metrics, bearer_matches
from parley.server.origins import Origins
from parley.server.pages import favicon, page, setup_pages
from parley.server.upgrade import wants_websocket
from parley.server.uploads import UploadRoutes
from parley.store.base import Quota, RoomQuotas, Store, StoreError
from parley.tasks import stop
from parley.websocket.codes import CloseCode

log = logging.getLogger(__name__)

#: Names that break the rules reported in the log at start (``parley check`` lists all).
SHOWN_NAME_PROBLEMS = 20

SUBPROTOCOL = "parley.v1"
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


class ChatServer:
    """Every part of one ``parley serve`` process, wired together."""

    def __init__(
        self,
        settings: ServeSettings,
        *,
        store: Store | None = None,
        broker: Broker | None = None,
        presence: Presence | None = None,
        blobs: BlobStore | None = None,
        figure_board: FigureBoard | None = None,
    ) -> None:
        self.settings = settings
        node_id = new_node_id()
        self.store = store or open_store(settings.db)
        self.blobs = blobs or open_blobs(settings.db, settings.files.file_dir)
        self.broker = broker or open_broker(settings.broker)
        self.presence = presence or open_presence(settings.broker, node_id, settings.presence_ttl)
        self.node = Node(
            self.store,
            self.broker,
            self.presence,
            node_id=node_id,
            # The sync also sweeps presence: a dead node's users go offline everywhere within
            # presence_ttl + this interval.
            sync_interval=min(5.0, settings.presence_ttl / 3),
            flow=settings.flow,
        )
        self.accounts = Accounts(
            self.store,
            cost=settings.hash_cost,
            session_ttl=settings.session_ttl,
            registration=settings.registration,
            publish=self.node.publish_event,
        )
        self.endpoint = WebSocketEndpoint(
            settings.websocket,
            deflate_settings=settings.deflate,
            behind_proxy=settings.behind_proxy,
        )
        self.chat_config = ChatConfig(
            max_text=settings.max_text,
            auth_timeout=settings.auth_timeout,
            rate=settings.rate,
            room_quotas=RoomQuotas(
                created=Quota(settings.rooms_per_day, DAY_MS),
                invited=Quota(settings.invitations_per_hour, HOUR_MS),
            ),
        )
        self.guests = Guests(
            self.node,
            max_text=settings.max_text,
            limits=GuestLimits(
                rate=settings.rate,
                per_address=RateLimit(
                    rate=settings.guest_ip_rate, burst=max(1, int(3 * settings.guest_ip_rate))
                ),
                max_throttle=settings.max_throttle,
            ),
        )
        self.metrics = Metrics(self.endpoint, self.node, token=settings.metrics_token)
        self.store.observe_commit = self.metrics.commit.observe
        self.figures = FigurePublisher(
            figure_board or open_figure_board(settings.broker),
            self.metrics.figures,
            node=node_id,
            address=f"{socket.gethostname()}:{settings.port}",
        )
        self.hosts = HostPolicy(settings.host, settings.public_url, settings.allowed_hosts)
        self.origins = Origins(settings)
        self.cookie = SessionCookie(self.origins, settings.session_ttl)
        self._revalidator: asyncio.Task[None] | None = None
        self.mailer: Mailer | None = None
        if settings.smtp_url is not None:
            self.mailer = Mailer(
                self.store,
                SmtpTarget.parse(settings.smtp_url),
                delay=settings.email_delay,
                base_url=settings.public_url or self._own_url(),
            )
        self._mailing: asyncio.Task[None] | None = None
        self._collecting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.hosts.needs_names:
            log.info(
                "answering requests addressed to an IP address or localhost only; add the "
                "name people use with --public-url or --allowed-host",
                extra={"event": "hosts"},
            )
        await self.store.start()
        await self.blobs.start()
        await self.presence.start()
        await self.node.start()
        await self.figures.start()
        self._revalidator = asyncio.create_task(self._revalidate_forever())
        if self.mailer is not None:
            self._mailing = asyncio.create_task(self.mailer.run_forever())
        self._collecting = asyncio.create_task(self._collect_forever())
        self.node.spawn(self._report_name_problems())
        self.node.spawn(self._report_registration())

    def listening(self, port: int) -> None:
        """The port is bound (``--port 0`` picks one): name it in this node's figures, and
        publish them again at once rather than show the port asked for until the next tick."""
        self.figures.address = f"{socket.gethostname()}:{port}"
        self.node.spawn(self.figures.publish())

    def _own_url(self) -> str:
        """The address links in emails use without ``--public-url``."""
        scheme = "https" if self.settings.tls else "http"
        return f"{scheme}://{self.settings.host}:{self.settings.port}"

    async def _report_registration(self) -> None:
        """Say so when an admin's stored registration mode overrides ``--registration``."""
        mode = await self.accounts.registration.mode()
        if mode is not self.accounts.registration.default:
            log.info(
                "registration is %s, as an admin set it (--registration %s is only the default)",
                mode.value,
                self.accounts.registration.default.value,
                extra={"event": "registration"},
            )

    async def _report_name_problems(self) -> None:
        """Warn about names made under older, laxer rules (in the background: it reads every
        user and room), with the command that fixes each (``parley check`` lists them all)."""
        problems = await name_problems(self.store)
        for problem in problems[:SHOWN_NAME_PROBLEMS]:
            log.warning(
                "%s #%d %r breaks the name rules (%s); fix: %s",
                problem.what,
                problem.id,
                problem.name,
                problem.problem,
                problem.fix,
                extra={"event": "bad_name"},
            )
        if len(problems) > SHOWN_NAME_PROBLEMS:
            log.warning(
                "%d more names break the rules: see parley check",
                len(problems) - SHOWN_NAME_PROBLEMS,
            )

    async def stop(self) -> None:
        """After the WebSockets are closed: stop the parts, committing queued writes."""
        for task in (self._revalidator, self._mailing, self._collecting):
            await stop(task)
        await self.figures.close()
        await self.node.close()
        await self.presence.close()
        await self.blobs.close()
        await self.store.close()

    async def _collect_forever(self) -> None:
        """The collector (``files/collector.py``), then the audit log's retention
        (``chat/audit_retention.py``), every ``--collect-interval``."""
        ttl_ms = int(self.settings.files.upload_ttl * 1000)
        retention_ms = int(self.settings.audit_retention * 1000)
        while True:
            await asyncio.sleep(self.settings.files.collect_interval)
            try:
                await collect(self.store, self.blobs, ttl_ms=ttl_ms)
            except Exception:
                log.warning("the collector could not finish; it runs again later", exc_info=True)
            try:
                await remove_expired(self.store, retention_ms=retention_ms)
            except Exception:
                log.warning(
                    "expired audit entries could not be removed; tried again later", exc_info=True
                )

    async def _revalidate_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.session_check)
            await self.revalidate_sessions()

    async def revalidate_sessions(self) -> None:
        """Close the connections whose session is no longer valid."""
        for listeners in list(self.node.listeners.values()):
            for listener in list(listeners):
                if not isinstance(listener, SignedIn):
                    continue
                try:
                    valid = await self.store.get_session(listener.login.token_hash, now_ms())
                except Exception:
                    log.warning("could not revalidate sessions", exc_info=True)
                    return
                if valid is None:
                    listener.close(CloseCode.POLICY_VIOLATION, "session ended")

    # -- HTTP ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(
            client_max_size=self.settings.http.max_body, middlewares=[self._check_host]
        )
        app.router.add_get("/", self._index)
        app.router.add_get("/admin", self._admin_page)
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/favicon.ico", self._favicon)
        if self.settings.metrics:
            app.router.add_get("/metrics", self.metrics.handle)
        account_routes = AccountRoutes(
            self.accounts,
            self.node,
            origins=self.origins,
            cookie=self.cookie,
            behind_proxy=self.settings.behind_proxy,
            address_limit=self.settings.auth_rate,
        )
        account_routes.add_to(app)
        UploadRoutes(
            self.store,
            self.blobs,
            self.accounts,
            self.settings.files,
            origins=self.origins,
            cookie=self.cookie,
        ).add_to(app)
        FileRoutes(self.accounts, self.blobs, cookie=self.cookie).add_to(app)
        AdminRoutes(
            ServerAdmin(
                self.accounts,
                Effects(
                    notify_user=self.node.notify_user,
                    publish=self.node.publish_event,
                    room_removed=self.node.room_removed,
                ),
            ),
            Invites(self.store, publish=self.node.publish_event),
            origins=self.origins,
            cookie=self.cookie,
            figures=self.figures.report,
            public_url=self.settings.public_url,
            behind_proxy=self.settings.behind_proxy,
            guard=account_routes.guard,
        ).add_to(app)
        setup_pages(app)

        async def on_startup(_: web.Application) -> None:
            await self.start()

        async def on_cleanup(_: web.Application) -> None:
            await self.stop()

        app.on_startup.append(on_startup)
        app.on_cleanup.append(on_cleanup)
        return app

    @web.middleware
    async def _check_host(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """421 for a request addressed to a host this server does not answer for."""
        if self.hosts.allows(request.headers.get("Host")):
            return await handler(request)
        log.info(
            "refused a request for another host",
            extra={"event": "host_refused", "host": request.headers.get("Host", "")[:200]},
        )
        response = web.Response(
            status=421,
            text="this server does not answer for that host name (see --allowed-host)\n",
        )
        response.force_close()
        return response

    async def _index(self, request: web.Request) -> web.StreamResponse:
        if wants_websocket(request):
            return await self._websocket(request)
        return page("index.html")

    async def _admin_page(self, request: web.Request) -> web.StreamResponse:
        return page("admin.html")

    async def _favicon(self, request: web.Request) -> web.StreamResponse:
        return favicon()

    async def _healthz(self, request: web.Request) -> web.Response:
        """200 when every part works; 503 ("degraded") while the broker or the database is
        unreachable, so that a load balancer can prefer other nodes meanwhile (this node
        still serves its clients, and catches up by itself).

        Anyone sees the status and which part is down; the version, the node and its
        connection count only a request with the metrics token (never without a token set):
        an attacker learns nothing about which release to aim at.
        """
        try:
            async with asyncio.timeout(1.0):
                await self.store.get_room_by_id(self.node.lobby_id)
            database = True
        except Exception:
            database = False
        broker = self.broker.healthy
        presence = getattr(self.presence, "healthy", True)
        healthy = database and broker and presence
        body: dict[str, object] = {
            "status": "ok" if healthy else "degraded",
            "database": "ok" if database else "unreachable",
            "broker": "ok" if broker else "unreachable",
            "presence": "ok" if presence else "unreachable",
        }
        token = self.settings.metrics_token
        if token is not None and bearer_matches(request, token):
            body.update(
                version=__version__,
                node=self.node.node_id,
                connections=len(self.endpoint.connections),
            )
        return web.json_response(body, status=200 if healthy else 503)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        handshake = self.endpoint.handshake(request, subprotocols=[SUBPROTOCOL])
        if isinstance(handshake, web.Response):
            return handshake
        if handshake.subprotocol == SUBPROTOCOL:
            if not self.origins.allows(request):
                log.info(
                    "refused a cross-origin WebSocket",
                    extra={"event": "origin_refused", "origin": request.headers.get("Origin")},
                )
                response = web.Response(
                    status=403, text="this origin may not open a signed-in connection\n"
                )
                response.force_close()
                return response
            token = self.cookie.token(request)
            session = None
            if token is not None:
                try:
                    session = await self.accounts.authenticate(token)
                except StoreError:
                    return error_response("unavailable", "the server cannot check sessions now")
                if session is None:
                    response = error_response("unauthorized", "invalid or expired session token")
                    response.force_close()
                    return response
            handler = ChatConnection(self.node, self.accounts, self.chat_config, login=session)
            return self.endpoint.accept(request, handshake, handler)
        if not self.settings.guests:
            response = web.Response(
                status=403,
                text="plain-text guests are switched off here: use the parley.v1 subprotocol\n",
            )
            response.force_close()
            return response
        return self.endpoint.accept(request, handshake, self.guests)
