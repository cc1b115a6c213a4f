"""``GET /metrics``: what the server is doing, in the Prometheus text format.

Counters that the hot path updates are plain integers in ``ConnectionStats``, ``NodeStats``
and the store's stats; a custom collector reads them at scrape time, so a delivery costs no
lock and no function call. Timings (fan-out, store commits, broker lag) are histograms,
observed once per event or per commit, never per delivery.

Nothing here carries message text, user names or tokens. With ``--metrics-token`` a scrape
must say ``Authorization: Bearer <token>`` (compared in constant time), or gets ``401``.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from parley.chat.node import Node
from parley.server.endpoint import WebSocketEndpoint

_FAST = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class _StatsCollector(Collector):
    def __init__(self, endpoint: WebSocketEndpoint, node: Node) -> None:
        self.endpoint = endpoint
        self.node = node

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        conns = self.endpoint.stats
        yield GaugeMetricFamily(
            "parley_connections", "Open WebSocket connections", value=len(self.endpoint.connections)
        )
        yield CounterMetricFamily(
            "parley_connections_opened", "WebSocket connections accepted", value=conns.opened
        )
        yield CounterMetricFamily(
            "parley_messages_in",
            "WebSocket messages received from clients",
            value=conns.messages_in,
        )
        yield CounterMetricFamily(
            "parley_frames_out", "WebSocket frames written to clients", value=conns.frames_out
        )
        yield CounterMetricFamily(
            "parley_socket_writes",
            "Writes to client sockets (frames are coalesced)",
            value=conns.writes,
        )
        yield CounterMetricFamily(
            "parley_bytes_out", "Bytes written to client sockets", value=conns.bytes_out
        )
        yield CounterMetricFamily(
            "parley_reads_paused",
            "Times a connection's socket stopped being read (backpressure: work in flight, "
            "rate limit, unread output)",
            value=conns.reads_paused,
        )
        closed = CounterMetricFamily(
            "parley_disconnects", "Closed WebSocket connections by close code", labels=["code"]
        )
        for code, count in sorted(conns.closed_by_code.items()):
            closed.add_metric([str(code)], count)
        yield closed
        stats = self.node.stats
        yield CounterMetricFamily(
            "parley_events_published",
            "Room events published by this node",
            value=stats.events_published,
        )
        yield CounterMetricFamily(
            "parley_deliveries", "Room events queued for local connections", value=stats.deliveries
        )
        yield CounterMetricFamily(
            "parley_gap_fills", "Times a room feed caught up from the store", value=stats.gap_fills
        )
        yield CounterMetricFamily(
            "parley_rate_limited",
            "Commands refused, or guest messages slowed, by the rate limit",
            value=stats.rate_limited,
        )
        yield GaugeMetricFamily(
            "parley_rooms_tracked", "Room feeds on this node", value=len(self.node.feeds)
        )
        # Writes waiting for the store's writers (every writer's queue): a store that falls
        # behind shows here before its commit times do.
        depth = getattr(self.node.store, "write_queue_depth", None)
        if isinstance(depth, int):
            yield GaugeMetricFamily(
                "parley_store_write_queue",
                "Store writes queued for a writer, not yet in a transaction",
                value=depth,
            )
        broker_stats = self.node.broker.stats
        for field in ("published", "dropped", "received", "reconnects"):
            yield CounterMetricFamily(
                f"parley_broker_{field}",
                f"Broker {field} (publications, or reconnections)",
                value=getattr(broker_stats, field),
            )
        yield GaugeMetricFamily(
            "parley_broker_up",
            "1 when the broker is reachable",
            value=1 if self.node.broker.healthy else 0,
        )


def bearer_matches(request: web.BaseRequest, token: str) -> bool:
    """Whether the request says ``Authorization: Bearer <token>`` (constant time)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode("utf-8", "replace"), token.encode()
    )


class Metrics:
    """The registry of one server, and the histograms its parts report into; ``token``: the
    bearer token a scrape must show (None: anyone may scrape)."""

    def __init__(self, endpoint: WebSocketEndpoint, node: Node, token: str | None = None) -> None:
        self.token = token
        self.registry = CollectorRegistry()
        self.registry.register(_StatsCollector(endpoint, node))
        self.fanout = Histogram(
            "parley_fanout_seconds",
            "Time to queue one room event for every local subscriber",
            buckets=_FAST,
            registry=self.registry,
        )
        self.commit = Histogram(
            "parley_store_commit_seconds",
            "Time to commit one batch of store writes",
            buckets=_FAST,
            registry=self.registry,
        )
        self.broker_lag = Histogram(
            "parley_broker_lag_seconds",
            "Time from another node's publication to its arrival here",
            buckets=_FAST,
            registry=self.registry,
        )
        node.stats.observe_fanout = self.fanout.observe
        node.stats.observe_broker_lag = self.broker_lag.observe

    def figures(self) -> dict[str, float]:
        """The counters behind the admin page's live figures (this node's, as ``/metrics``):
        open connections, messages received and store commits so far with their total time.
        ``figures/publisher.py`` derives rates from two readings and publishes them for every
        node to read."""
        names = {
            "connections": "parley_connections",
            "messages_in": "parley_messages_in_total",
            "events_published": "parley_events_published_total",
            "commits": "parley_store_commit_seconds_count",
            "commit_seconds": "parley_store_commit_seconds_sum",
        }
        return {key: self.registry.get_sample_value(sample) or 0.0 for key, sample in names.items()}

    async def handle(self, request: web.Request) -> web.Response:
        if self.token is not None and not bearer_matches(request, self.token):
            return web.Response(
                status=401,
                text="send the metrics token: Authorization: Bearer <token>\n",
                headers={"WWW-Authenticate": 'Bearer realm="parley-metrics"'},
            )
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
