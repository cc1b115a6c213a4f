-- Server settings that an administrator changes at runtime, and invitations.
--
-- (0007-0009 are other features built alongside; the numbers are shared by every feature.)
--
-- server_settings: one row per setting an administrator changed (the /admin page, the admin
-- API, `parley registration ...`). Stored, not kept in one process's memory, so that every
-- node sees a change at its next read: a registration reads its row each time (one primary-key
-- lookup, paid only by sign-ups). A missing row means the command-line flag decides
-- (`--registration`). Known names: 'registration' ('open', 'closed', 'invite') and
-- 'member_invites' ('on', 'off': whether members, not only admins, may invite new people).
CREATE TABLE server_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Invitations. Only the SHA-256 of an invitation's token is stored (as for sessions): the
-- token is shown once, to its creator, inside the link. Single use: redeeming one sets used_at
-- in the transaction that creates the account (or joins the rooms), guarded by
-- `used_at IS NULL`, so two people racing with one link cannot both get in.
--   kind 'account': lets a new person create an account (whatever the registration mode,
--                   except 'closed'), and join room_ids.
--   kind 'room':    lets an existing user join room_ids (private rooms included).
-- room_ids: the rooms' ids, space-separated (no foreign key: deleting a room must not be
-- stopped by an invitation naming it; a deleted room is skipped when the invitation is used).
-- created_by NULL: the operator's `parley invite create`.
CREATE TABLE invites (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('account', 'room')),
    created_by BIGINT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    room_ids TEXT NOT NULL DEFAULT '',
    used_at BIGINT,
    used_by BIGINT REFERENCES users (id),
    revoked_at BIGINT
);

-- The admin page's list, newest first.
CREATE INDEX invites_by_creation ON invites (created_at);
