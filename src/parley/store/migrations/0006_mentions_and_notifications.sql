-- Mentions (@name, @room), per-room notification levels, and email for missed ones.
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
    -- When the mention was made (the message, or the edit that added it): email is due a
    -- delay after it.
    ts BIGINT NOT NULL,
    -- Unread mentions of a user in a room: the rows after the read marker.
    PRIMARY KEY (user_id, room_id, seq)
);

-- The `mentions` view, newest first across rooms.
CREATE INDEX mentions_by_user ON mentions (user_id, message_id);
-- An edit or delete finds its message's rows.
CREATE INDEX mentions_by_message ON mentions (message_id);
-- The mailer's scan: the mentions made within its window.
CREATE INDEX mentions_by_time ON mentions (ts);

-- Notification level of a member for a room: NULL is the default ('mentions': mentions and
-- direct messages), 'all', 'mentions' or 'none'; muted_until (ms since the epoch) silences
-- the room until then whatever the level. Kept with the membership: leaving forgets it.
ALTER TABLE memberships ADD COLUMN notify_level TEXT
    CHECK (notify_level IN ('all', 'mentions', 'none'));
ALTER TABLE memberships ADD COLUMN muted_until BIGINT;

-- Email for missed mentions and direct messages (--smtp-url): the address and the user's
-- choice (on by default once an address is given).
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_notify BOOLEAN NOT NULL DEFAULT TRUE;

-- One row per (user, message) ever mailed or being mailed: the primary key is what makes each
-- one go out at most once, whichever node and however many restarts. A node takes new ones
-- with INSERT ... ON CONFLICT DO NOTHING (the row's winner sends it) and failed or abandoned
-- ones (state 'pending', or 'claimed' past claimed_until) with FOR UPDATE SKIP LOCKED.
-- message_id and room_id have no foreign key: deleting a room erases its events, and the
-- outbox row stays to say the message was handled.
CREATE TABLE email_outbox (
    user_id INTEGER NOT NULL REFERENCES users (id),
    message_id INTEGER NOT NULL,
    room_id INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('claimed', 'pending', 'sent', 'dropped')),
    claimed_until BIGINT NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    PRIMARY KEY (user_id, message_id)
);

-- Retries: the rows waiting (or whose claim ran out), oldest deadline first.
CREATE INDEX email_outbox_waiting ON email_outbox (claimed_until)
    WHERE state IN ('claimed', 'pending');
