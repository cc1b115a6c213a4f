-- What `parley import` needs beyond the tables it fills (docs/deployment.md, "Export and
-- import"; the format: docs/architecture.md, "Export format").
--
-- (0007 to 0010 belong to features built alongside; the numbers are shared by every feature.)
--
-- Claim tokens: an imported account has no password (an export never carries password
-- hashes, and Slack's has none to give). The import makes one single-use token per such
-- account and prints it once; only its SHA-256 is stored, as for sessions. Whoever holds
-- the token sets the account's password with it (POST /api/claim), which deletes the row.
CREATE TABLE IF NOT EXISTS claim_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS claim_tokens_by_user ON claim_tokens (user_id);

-- The thread of a message imported from Slack (`thread_ts`): the reply's message id and its
-- thread root's, in the same room. Parley's events have no thread column on this schema, so
-- the reference is kept here, losslessly, for the threads feature to take over (one row per
-- reply; a root outside the export has none and is counted in the import's report). No
-- foreign keys, as email_outbox: deleting a room erases its events, and these rows are inert.
CREATE TABLE IF NOT EXISTS imported_threads (
    message_id INTEGER PRIMARY KEY,
    room_id INTEGER NOT NULL,
    root_id INTEGER NOT NULL
);
