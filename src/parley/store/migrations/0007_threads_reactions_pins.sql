-- Threads (replies), reactions, pins and edit versions (issue 17; docs/protocol.md,
-- "Threads, reactions and pins").
--
-- Every one of them is a room event: the new kinds are rows of `event_kinds` (0003), so the
-- events table is not rebuilt; its new columns are added with defaults (no rewrite).
INSERT INTO event_kinds (kind) VALUES ('reaction'), ('pin'), ('unpin')
    ON CONFLICT (kind) DO NOTHING;

-- A reply is a `message` row whose `thread` is its root's id (a reply to a reply is stored
-- with the root's); the `delete` row of a reply names it too. `broadcast`: the reply is shown
-- in the room's main timeline as well (and counts there as unread).
ALTER TABLE events ADD COLUMN thread INTEGER REFERENCES events (id);
ALTER TABLE events ADD COLUMN broadcast BOOLEAN NOT NULL DEFAULT FALSE;
-- A root's thread summary, kept by the writes that change it: the replies not deleted, and
-- when the newest reply was posted. (Who replied is in thread_follows.)
ALTER TABLE events ADD COLUMN reply_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN last_reply_ts BIGINT;
-- A pinned message: the seq of the `pin` event that pinned it (NULL: not pinned).
ALTER TABLE events ADD COLUMN pinned_seq BIGINT;
-- The text a message was sent with, kept when it is first edited (the `edit` rows keep each
-- later text): its versions. A delete empties it with the others.
ALTER TABLE events ADD COLUMN original TEXT;
-- `reaction` rows: the emoji, and whether this event removed it (an `unreact`).
ALTER TABLE events ADD COLUMN emoji TEXT;
ALTER TABLE events ADD COLUMN removed BOOLEAN NOT NULL DEFAULT FALSE;

-- `history` of one thread: its replies in seq order.
CREATE INDEX IF NOT EXISTS events_by_thread ON events (room_id, thread, seq)
    WHERE thread IS NOT NULL;
-- `pins`: a room's pinned messages, most recently pinned first.
CREATE INDEX IF NOT EXISTS events_pinned ON events (room_id, pinned_seq)
    WHERE pinned_seq IS NOT NULL;

-- The current reactions: one row per (message, emoji, user); `seq` is the `reaction` event
-- that added it (a repeated `react` answers it). A delete of the message removes its rows.
CREATE TABLE IF NOT EXISTS reactions (
    message_id INTEGER NOT NULL REFERENCES events (id),
    emoji TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    seq BIGINT NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);
CREATE INDEX IF NOT EXISTS reactions_by_room ON reactions (room_id);

-- Who takes part in a thread: its followers (the root's author, repliers, those mentioned in
-- it, those who `follow` it), each with a read marker of the thread; `replied_seq` is the seq
-- of their newest reply in it (the repliers of the summary, most recent first). A row with
-- `following` FALSE records an `unfollow`; NULL, no choice yet: a row made by a `read` with
-- `thread` that keeps only a marker (the root's author still follows at the first reply).
CREATE TABLE IF NOT EXISTS thread_follows (
    thread INTEGER NOT NULL REFERENCES events (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    following BOOLEAN DEFAULT TRUE,
    replied_seq BIGINT,
    read_seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (thread, user_id)
);
-- `threads`: the threads a user follows.
CREATE INDEX IF NOT EXISTS thread_follows_by_user ON thread_follows (user_id, thread);
CREATE INDEX IF NOT EXISTS thread_follows_by_room ON thread_follows (room_id);

-- A mention made in a reply without `broadcast` is not counted in the room's unread mentions
-- (the room's unread counts only its main timeline); the `mentions` view still lists it.
ALTER TABLE mentions ADD COLUMN in_thread BOOLEAN NOT NULL DEFAULT FALSE;
