-- Event kinds become rows of their own table, and rooms can be archived.
--
-- Until now `events.kind` was checked against a fixed list (CHECK), and on SQLite changing a
-- CHECK means rebuilding the events table, the biggest one. The kinds are now the rows of
-- `event_kinds`, which every event refers to: the database still refuses an unknown kind, and
-- a feature that adds kinds (replies, reactions, pins, moderation ...) adds rows, not a
-- rebuild. This migration is the last rebuild of `events` for that reason; it adds the kinds
-- of the operator's room tools: `rename` (text: the new name; invited_by: the old one),
-- `archive` and `unarchive`.
--
-- The rebuild follows SQLite's documented procedure inside the migration's transaction. The
-- new table's self-reference names `events_new` and is renamed with the table, so dropping the
-- old table breaks no foreign key (nothing else refers to `events`).

CREATE TABLE event_kinds (kind TEXT PRIMARY KEY);

INSERT INTO event_kinds (kind) VALUES
    ('message'), ('edit'), ('delete'), ('join'), ('leave'), ('topic'),
    ('rename'), ('archive'), ('unarchive');

CREATE TABLE events_new (
    id INTEGER PRIMARY KEY,
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL REFERENCES event_kinds (kind),
    user_id INTEGER REFERENCES users (id),
    author TEXT NOT NULL,
    ts BIGINT NOT NULL,
    mid INTEGER REFERENCES events_new (id),
    text TEXT,
    edited BOOLEAN NOT NULL DEFAULT FALSE,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    invited_by TEXT,
    cid TEXT,
    -- One total order per room, and the index behind events_after / events_before.
    UNIQUE (room_id, seq)
);

INSERT INTO events_new
    (id, room_id, seq, kind, user_id, author, ts, mid, text, edited, deleted, invited_by, cid)
SELECT id, room_id, seq, kind, user_id, author, ts, mid, text, edited, deleted, invited_by, cid
FROM events;

DROP TABLE events;

ALTER TABLE events_new RENAME TO events;

-- Idempotent posts: one message per (author, client message id). Guests have no cid scope.
CREATE UNIQUE INDEX events_by_cid ON events (user_id, cid)
    WHERE kind = 'message' AND cid IS NOT NULL AND user_id IS NOT NULL;

-- The edits of a message, whose texts a delete removes.
CREATE INDEX events_by_mid ON events (mid) WHERE mid IS NOT NULL;

-- An archived room is read-only: its history stays readable, nothing is appended but an
-- `unarchive` (and members may still leave).
ALTER TABLE rooms ADD COLUMN archived BOOLEAN NOT NULL DEFAULT FALSE;

-- A deleted room keeps its row, empty (its events and memberships are erased) and nameless
-- (its name_key becomes '#<id>', which no room name can be): so its id is never given to
-- another room. Ids travel beyond the database (broker channels `room:<id>`, every node's
-- feeds), and SQLite would otherwise hand the highest one out again.
ALTER TABLE rooms ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT FALSE;
