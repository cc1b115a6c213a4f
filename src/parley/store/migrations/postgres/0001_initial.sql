-- Parley's first schema, PostgreSQL spelling: mirrors ../0001_initial.sql line by line.
--
-- The differences, all deliberate:
-- * ids are `BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY` (SQLite: `INTEGER PRIMARY KEY`)
--   and the columns referencing them BIGINT;
-- * `name` and `name_key` use the "C" collation: names sort by code point, as SQLite's BINARY
--   collation does, whatever the database's locale (rooms_for and room_members sort by them).
--
-- Times are BIGINT milliseconds since the epoch. Booleans are BOOLEAN with TRUE/FALSE.
-- Names are unique case-insensitively through `name_key` (the lower-cased name, computed by
-- the application so that both databases agree on what "lower" means); `name` keeps the
-- spelling the user chose.

CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    name_key TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

-- Only the SHA-256 of a session token is stored, never the token.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX sessions_by_user ON sessions (user_id);

-- `last_seq` is the seq of the room's newest event. It is the room's sequence counter: the
-- next event takes last_seq + 1 in the same transaction that inserts it (UPDATE ... RETURNING,
-- which also locks the row), so it can never drift from the events table and several writers
-- (processes) stay gap-free.
CREATE TABLE rooms (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    name_key TEXT COLLATE "C" NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('public', 'private', 'direct')),
    topic TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    last_seq BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE memberships (
    room_id BIGINT NOT NULL REFERENCES rooms (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    joined_at BIGINT NOT NULL,
    last_read_seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
);

-- rooms_for(user): the rooms a user is a member of.
CREATE INDEX memberships_by_user ON memberships (user_id);

-- Every change to a room, in seq order. A `message` row also holds the message's current
-- state (latest text, edited, deleted): its own `id` is the message id (`mid`), unique across
-- rooms. `edit` and `delete` rows point at the message through `mid`.
CREATE TABLE events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room_id BIGINT NOT NULL REFERENCES rooms (id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('message', 'edit', 'delete', 'join', 'leave', 'topic')),
    user_id BIGINT REFERENCES users (id),
    author TEXT NOT NULL,
    ts BIGINT NOT NULL,
    mid BIGINT REFERENCES events (id),
    text TEXT,
    edited BOOLEAN NOT NULL DEFAULT FALSE,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    invited_by TEXT,
    cid TEXT,
    -- One total order per room, and the index behind events_after / events_before.
    UNIQUE (room_id, seq)
);

-- Idempotent posts: one message per (author, client message id). Guests have no cid scope.
CREATE UNIQUE INDEX events_by_cid ON events (user_id, cid)
    WHERE kind = 'message' AND cid IS NOT NULL AND user_id IS NOT NULL;

-- The edits of a message, whose texts a delete removes.
CREATE INDEX events_by_mid ON events (mid) WHERE mid IS NOT NULL;

-- Unread counts: the live messages of a room after a seq, without reading the table rows.
CREATE INDEX events_live_messages ON events (room_id, seq, user_id)
    WHERE kind = 'message' AND NOT deleted;
