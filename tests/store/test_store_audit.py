"""The audit log in the store (migration 0009, ``store/sql/audit_ops.py``), for every backend:
entries written inside the transaction of their action, filtered and paged."""

from __future__ import annotations

import pytest

from parley.chat import audit_retention
from parley.chat.audit_retention import remove_expired
from parley.model import AuditFilter
from parley.store.base import Store
from parley.store.sql import audit_ops
from parley.store.sql.engine import transaction
from tests.store.conftest import Harness


async def test_an_entry_is_recorded_and_read_back(store: Store) -> None:
    made = await store.record_audit(
        "login.throttled", actor="Alice", target="Alice", address="192.0.2.7", detail="5 failures"
    )
    [read] = await store.audit_log(AuditFilter())
    assert read == made
    assert (read.actor, read.action, read.address, read.detail) == (
        "Alice",
        "login.throttled",
        "192.0.2.7",
        "5 failures",
    )
    assert read.id > 0
    assert read.ts > 0


async def test_entries_are_filtered_by_actor_action_and_time_and_paged(store: Store) -> None:
    for actor, action in [
        ("Alice", "room.kick"),
        ("bob", "room.ban"),
        ("alice", "user.disable"),
        ("Alice", "room.mute"),
    ]:
        await store.record_audit(action, actor=actor)
    everything = await store.audit_log(AuditFilter())
    assert [e.action for e in everything] == ["room.mute", "user.disable", "room.ban", "room.kick"]
    by_alice = await store.audit_log(AuditFilter(actor="ALICE"))
    assert [e.action for e in by_alice] == ["room.mute", "user.disable", "room.kick"]
    assert [e.action for e in await store.audit_log(AuditFilter(action="room.ban"))] == ["room.ban"]
    rooms = await store.audit_log(AuditFilter(action="room"))
    assert [e.action for e in rooms] == ["room.mute", "room.ban", "room.kick"]
    first = await store.audit_log(AuditFilter(limit=2))
    assert [e.action for e in first] == ["room.mute", "user.disable"]
    second = await store.audit_log(AuditFilter(limit=2, before=first[-1].id))
    assert [e.action for e in second] == ["room.ban", "room.kick"]
    assert await store.audit_log(AuditFilter(before=second[-1].id)) == []
    newest = everything[0].ts
    assert [e.action for e in await store.audit_log(AuditFilter(since=newest + 1))] == []
    assert len(await store.audit_log(AuditFilter(until=everything[-1].ts))) == 0
    assert len(await store.audit_log(AuditFilter(since=everything[-1].ts))) == 4


async def test_a_page_is_bounded_and_wildcards_are_plain_text(store: Store) -> None:
    await store.record_audit("room.kick", actor="x")
    assert await store.audit_log(AuditFilter(action="%")) == []
    assert await store.audit_log(AuditFilter(action="roo_")) == []
    assert await store.audit_log(AuditFilter(actor="%")) == []
    assert len(await store.audit_log(AuditFilter(limit=10**9))) == 1  # capped, not refused
    assert len(await store.audit_log(AuditFilter(limit=-5))) == 1


async def test_long_texts_are_cut_and_bad_actions_refused(store: Store) -> None:
    made = await store.record_audit(
        "room.kick", actor="a" * 5000, target="t" * 5000, address="9" * 5000, detail="d" * 5000
    )
    assert len(made.actor) == len(made.target or "") == audit_ops.MAX_FIELD
    assert len(made.detail or "") == len(made.address or "") == audit_ops.MAX_FIELD
    for bad in ["", "kick", "Room.Kick", "room.", "room kick", "room.kick;drop", "a." + "b" * 70]:
        with pytest.raises(ValueError, match="not an audit action"):
            await store.record_audit(bad, actor="x")
    assert len(await store.audit_log(AuditFilter())) == 1


async def test_an_entry_commits_with_its_transaction_or_not_at_all(
    harness: Harness, store: Store
) -> None:
    async def action_that_fails(conn: object) -> None:
        await audit_ops.record(conn, "user.disable", actor="operator")  # type: ignore[arg-type]
        raise RuntimeError("the action failed")

    async with harness.raw() as conn:
        with pytest.raises(RuntimeError):
            await transaction(conn, action_that_fails)
        await transaction(
            conn, lambda c: audit_ops.record(c, "user.enable", actor="operator", target="bob")
        )
    assert [e.action for e in await store.audit_log(AuditFilter())] == ["user.enable"]


DAY = 86_400_000


async def aged(harness: Harness, store: Store, ages_in_days: list[int], now: int) -> list[int]:
    """One entry per age, written ``age`` days before ``now`` (their times set directly, as a
    year of use would have left them); their ids, oldest first."""
    ids = []
    for age in ages_in_days:
        entry = await store.record_audit("room.kick", actor="alice", detail=f"{age} days old")
        async with harness.raw() as conn:
            sql = "UPDATE audit_log SET ts = ? WHERE id = ?"
            await conn.execute(sql, now - age * DAY, entry.id)
        ids.append(entry.id)
    return ids


async def test_entries_older_than_the_retention_go_in_bounded_batches(
    harness: Harness, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = 1_800_000_000_000
    ages = [900, 400, 366, 365, 364, 30, 0, 500, 800]  # not in time order, as ids go
    ids = await aged(harness, store, ages, now)
    monkeypatch.setattr(audit_retention, "BATCH", 2)
    batches: list[int] = []
    remove = store.remove_audit_before

    async def counted(before: int, limit: int) -> int:
        assert limit == 2
        batches.append(await remove(before, limit))
        return batches[-1]

    monkeypatch.setattr(store, "remove_audit_before", counted)
    assert await remove_expired(store, retention_ms=365 * DAY, now=now) == 5
    assert batches == [2, 2, 1]  # each batch at most BATCH, until one comes back short
    kept = {entry.id for entry in await store.audit_log(AuditFilter())}
    assert kept == {i for i, age in zip(ids, ages, strict=True) if age <= 365}  # 365: not older
    assert await remove_expired(store, retention_ms=365 * DAY, now=now) == 0
    # A batch takes the oldest first: what is left after one is the younger entries.
    assert await remove(now - 30 * DAY + 1, 1) == 1
    left = [e.detail for e in await store.audit_log(AuditFilter())]
    assert left == ["0 days old", "30 days old", "364 days old"]  # the 365 days old went


async def test_forever_keeps_every_entry(harness: Harness, store: Store) -> None:
    now = 1_800_000_000_000
    await aged(harness, store, [10_000, 1], now)
    assert await remove_expired(store, retention_ms=0, now=now) == 0
    assert len(await store.audit_log(AuditFilter())) == 2
