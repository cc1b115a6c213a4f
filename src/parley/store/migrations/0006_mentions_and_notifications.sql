-- Mentions (@name, @room) and per-room notification levels.
--
-- (0005 is the search index, built alongside; the numbers are shared by every feature.)
--
-- A message's mentions are parsed by the server when it commits the message or an edit
-- (parley/protocol/mentions.py), resolved against the room's members in that transaction:
--   events.mentions          the names it mentions, space-separated ('@room' for everyone).
--                            On a `message` row: its current mentions (an edit changes them);
--                            on an `edit` row: the message's mentions after that edit.
--   events.mentions_added    `edit` rows only: the names the edit added (they are notified).
--   events.mentions_removed  `edit` rows only: the names the edit removed (retracted).
-- A deleted message keeps none (its text and its mentions are removed together).
ALTER TABLE events ADD COLUMN mentions TEXT;
ALTER TABLE events ADD COLUMN mentions_added TEXT;
ALTER TABLE events ADD COLUMN mentions_removed TEXT;

-- Who is mentioned where, for unread mention counts and the `mentions` view: one row per
-- (mentioned user, message); user_id 0 is `@room` (everyone in the room but its author).
-- The rows of a message follow its current state: an edit replaces them, a delete removes
-- them, so a count never includes a mention that is no longer there.
CREATE TABLE mentions (
    user_id INTEGER NOT NULL,
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    seq BIGINT NOT NULL,
    message_id INTEGER NOT NULL REFERENCES events (id),
    author_id INTEGER REFERENCES users (id),
    -- Unread mentions of a user in a room: the rows after the read marker.
    PRIMARY KEY (user_id, room_id, seq)
);

-- The `mentions` view, newest first across rooms.
CREATE INDEX mentions_by_user ON mentions (user_id, message_id);
-- An edit or delete finds its message's rows.
CREATE INDEX mentions_by_message ON mentions (message_id);

-- Notification level of a member for a room: NULL is the default ('mentions': mentions and
-- direct messages), 'all', 'mentions' or 'none'; muted_until (ms since the epoch) silences
-- the room until then whatever the level. Kept with the membership: leaving forgets it.
ALTER TABLE memberships ADD COLUMN notify_level TEXT
    CHECK (notify_level IN ('all', 'mentions', 'none'));
ALTER TABLE memberships ADD COLUMN muted_until BIGINT;
