-- Files in messages, images and profiles (issue 18).
--
-- An upload is a file a user sent over HTTP (POST /api/uploads), stored in the blob store
-- under the SHA-256 of the bytes served (`hash`; an image's thumbnail under `thumb_hash`):
-- the same bytes uploaded twice are stored once, each upload a row of its own. The row is
-- what refers to the blobs: the collector removes a blob no row refers to.
--   message_id, room_id  NULL until the upload is sent in a message (`send` with `files`);
--                        the message's deletion removes the row (in its transaction), so
--                        the file is not served from then on.
--   avatar               made for a profile picture (square thumbnail); never in a message.
CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    size BIGINT NOT NULL,
    hash TEXT NOT NULL,
    width INTEGER NOT NULL DEFAULT 0,
    height INTEGER NOT NULL DEFAULT 0,
    thumb_hash TEXT,
    thumb_width INTEGER NOT NULL DEFAULT 0,
    thumb_height INTEGER NOT NULL DEFAULT 0,
    avatar BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    message_id INTEGER,
    room_id INTEGER
);

-- The quota (the sizes of a user's uploads) and the collector's scan of unsent ones.
CREATE INDEX uploads_by_owner ON uploads (owner_id, created_at);
-- A delete finds its message's files; a room's deletion its room's.
CREATE INDEX uploads_by_message ON uploads (message_id);
CREATE INDEX uploads_by_room ON uploads (room_id);
-- The collector asks whether anything still refers to a blob.
CREATE INDEX uploads_by_hash ON uploads (hash);
CREATE INDEX uploads_by_thumb ON uploads (thumb_hash);

-- A message's files as the wire shows them (a JSON list of FileInfo, in the order sent),
-- kept on the message's row so that every read of events carries them; NULL once deleted.
ALTER TABLE events ADD COLUMN files TEXT;

-- Profiles: a display name ('' for none) and an avatar (an upload id with avatar = TRUE).
ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN avatar TEXT;
