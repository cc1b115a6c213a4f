"""Uploads, message files and profiles in the store, for every backend: the quota, who may
send and fetch what, a deletion that stops a file at once, the collector's queries."""

from __future__ import annotations

import secrets

import pytest

from parley.clock import now_ms
from parley.model import FileRef, Room, RoomKind, Upload, User
from parley.store.base import QuotaExceeded, Store, UploadNotFound


def new_upload(owner: User, size: int = 100, *, avatar: bool = False, age: int = 0) -> Upload:
    digest = secrets.token_hex(32)
    return Upload(
        file=FileRef(
            id=secrets.token_urlsafe(16),
            name="cat.png",
            type="image/png",
            size=size,
            width=800,
            height=600,
            thumb_width=320,
            thumb_height=240,
        ),
        owner_id=owner.id,
        hash=digest,
        thumb_hash=secrets.token_hex(32),
        avatar=avatar,
        created_at=now_ms() - age,
        message_id=None,
        room_id=None,
    )


async def test_the_quota_counts_what_a_user_holds(store: Store, alice: User, bob: User) -> None:
    await store.add_upload(new_upload(alice, 600), quota=1000)
    await store.add_upload(new_upload(bob, 900), quota=1000)  # bob's own quota
    with pytest.raises(QuotaExceeded):
        await store.add_upload(new_upload(alice, 401), quota=1000)
    await store.add_upload(new_upload(alice, 400), quota=1000)  # exactly full
    assert await store.used_bytes(alice.id) == 1000


async def test_a_message_carries_its_files_in_every_read(
    store: Store, room: Room, alice: User
) -> None:
    one, two = new_upload(alice), new_upload(alice)
    for upload in (one, two):
        await store.add_upload(upload, quota=10**9)
    posted = await store.post_message(
        room.id, alice.id, alice.name, "", "c1", files=(two.file.id, one.file.id)
    )
    assert posted.event.files == (two.file, one.file)
    [read] = await store.events_after(room.id, posted.event.seq - 1, 10)
    assert read.files == (two.file, one.file)
    # A resend with its cid is the original, files and all.
    again = await store.post_message(room.id, alice.id, alice.name, "", "c1", files=(one.file.id,))
    assert again.duplicate
    assert again.event.files == (two.file, one.file)
    sent = await store.get_upload(one.file.id)
    assert sent is not None
    assert (sent.message_id, sent.room_id) == (posted.event.mid, room.id)


async def test_only_ones_own_unsent_uploads_can_be_sent(
    store: Store, room: Room, alice: User, bob: User
) -> None:
    await store.join(room.id, bob.id, bob.name)
    mine, bobs, avatar = new_upload(alice), new_upload(bob), new_upload(alice, avatar=True)
    for upload in (mine, bobs, avatar):
        await store.add_upload(upload, quota=10**9)
    for ids in ([bobs.file.id], [avatar.file.id], ["x" * 22], [mine.file.id, bobs.file.id]):
        with pytest.raises(UploadNotFound):
            await store.post_message(room.id, alice.id, alice.name, "hi", files=ids)
    assert (await store.get_upload(mine.file.id)).message_id is None  # type: ignore[union-attr]
    last = (await store.events_before(room.id, None, 1))[-1]
    assert last.kind.value == "join"  # nothing was stored
    await store.post_message(room.id, alice.id, alice.name, "hi", files=[mine.file.id])
    with pytest.raises(UploadNotFound):  # sent already
        await store.post_message(room.id, alice.id, alice.name, "again", files=[mine.file.id])


async def test_who_may_fetch_a_file_and_a_deletion_ends_it(
    store: Store, alice: User, bob: User, carol: User
) -> None:
    private, _ = await store.create_room("ops", RoomKind.PRIVATE, creator_id=alice.id)
    await store.join(private.id, bob.id, bob.name)
    upload = new_upload(alice)
    await store.add_upload(upload, quota=10**9)
    fid = upload.file.id
    assert await store.readable_upload(fid, alice.id) is not None  # the uploader, unsent
    assert await store.readable_upload(fid, bob.id) is None
    posted = await store.post_message(private.id, alice.id, alice.name, "", files=[fid])
    assert await store.readable_upload(fid, bob.id) is not None  # a member
    assert await store.readable_upload(fid, carol.id) is None  # not a member
    await store.leave(private.id, bob.id, bob.name)
    assert await store.readable_upload(fid, bob.id) is None  # no longer a member
    assert posted.event.mid is not None
    await store.delete_message(private.id, alice.id, alice.name, posted.event.mid, any_author=False)
    assert await store.readable_upload(fid, alice.id) is None
    assert await store.get_upload(fid) is None
    [read] = [
        e
        for e in await store.events_after(private.id, 0, 10)
        if e.mid == posted.event.mid and e.kind.value == "message"
    ]
    assert read.files == ()
    assert read.deleted
    assert await store.used_bytes(alice.id) == 0
    assert await store.referenced([upload.hash, upload.thumb_hash or ""]) == set()


async def test_profiles_and_avatars(
    store: Store, room: Room, alice: User, bob: User, carol: User
) -> None:
    await store.join(room.id, bob.id, bob.name)
    assert (await store.profile_of(alice.id)).display_name == ""
    first = new_upload(alice, avatar=True)
    await store.add_upload(first, quota=10**9)
    profile = await store.set_profile(alice.id, display_name="Alice L.", avatar=first.file.id)
    assert (profile.display_name, profile.avatar) == ("Alice L.", first.file.id)
    assert await store.readable_upload(first.file.id, carol.id) is not None  # avatars: anyone
    assert await store.profiles([alice.id, bob.id, carol.id]) == {alice.id: profile}
    # An avatar must be one's own avatar upload.
    for bad in (new_upload(alice), new_upload(bob, avatar=True)):
        await store.add_upload(bad, quota=10**9)
        with pytest.raises(UploadNotFound):
            await store.set_profile(alice.id, display_name=None, avatar=bad.file.id)
    # Replacing it releases the old one; the name is unchanged when not given.
    second = new_upload(alice, avatar=True)
    await store.add_upload(second, quota=10**9)
    profile = await store.set_profile(alice.id, display_name=None, avatar=second.file.id)
    assert (profile.display_name, profile.avatar) == ("Alice L.", second.file.id)
    assert await store.get_upload(first.file.id) is None
    cleared = await store.set_profile(alice.id, display_name="", avatar="")
    assert (cleared.display_name, cleared.avatar) == ("", "")
    assert await store.get_upload(second.file.id) is None


async def test_the_collector_drops_stale_unsent_uploads_only(
    store: Store, room: Room, alice: User
) -> None:
    stale, fresh, sent, avatar = (
        new_upload(alice, age=10_000),
        new_upload(alice),
        new_upload(alice, age=10_000),
        new_upload(alice, avatar=True, age=10_000),
    )
    for upload in (stale, fresh, sent, avatar):
        await store.add_upload(upload, quota=10**9)
    await store.post_message(room.id, alice.id, alice.name, "x", files=[sent.file.id])
    await store.set_profile(alice.id, display_name=None, avatar=avatar.file.id)
    assert await store.drop_stale_uploads(now_ms() - 5_000) == 1
    assert await store.get_upload(stale.file.id) is None
    kept = {stale.hash, fresh.hash, sent.hash, avatar.hash, sent.thumb_hash or ""}
    assert await store.referenced(sorted(kept)) == kept - {stale.hash}
