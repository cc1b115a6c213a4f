"""The deployment's figures from the nodes' entries: what ``GET /api/admin/stats`` answers.

Connections, messages per second and the counters are sums over the nodes read. Store commit
time is the *slowest* node's mean over its last interval, not a sum or an average of means:
the nodes share one database, and an admin looking for trouble needs the worst figure (each
node's own is in the per-node list). No I/O here.
"""

from __future__ import annotations

from typing import Any

from parley.figures.base import BoardReading


def report(reading: BoardReading, *, node: str, at: int, partial: bool) -> dict[str, Any]:
    """The answer: totals, the per-node list, ``nodes_total`` (how many nodes are on the
    board: more than the list when the read limit cut it; the totals cover the list only),
    ``node`` (the node that answered) and ``partial`` (True when the board could not be
    read and the list holds only the answering node)."""
    entries = reading.entries
    commit_times = [entry.commit_ms for entry in entries if entry.commit_ms is not None]
    return {
        "at": at,
        "node": node,
        "partial": partial,
        "nodes_total": reading.total,
        "connections": sum(entry.connections for entry in entries),
        "messages_per_second": round(sum(entry.messages_per_second for entry in entries), 2),
        "commit_ms": round(max(commit_times), 3) if commit_times else None,
        "messages_in": sum(entry.messages_in for entry in entries),
        "events_published": sum(entry.events_published for entry in entries),
        "commits": sum(entry.commits for entry in entries),
        "commit_seconds": sum(entry.commit_seconds for entry in entries),
        "nodes": [entry.to_json() for entry in entries],
    }
