-- Room roles, moderation as room events, and the audit log (issue 19).
--
-- (0007 and 0008 belong to features built alongside; the numbers are shared by every feature.)
--
-- Moderation changes a room, so each act is a room event with the room's next seq, kinds added
-- as rows (no rebuild, see 0003). On these events `user_id`/`author` is the member acted on
-- and `invited_by` is who acted (the protocol's `by`, as for an invitation):
--   role      text: the member's new role ('owner', 'moderator' or 'member')
--   kick      the membership is removed (as a `leave` would)
--   ban       the membership is removed; ends_at: when the ban ends (NULL: never)
--   unban     the ban is lifted
--   mute      the member cannot post until ends_at
--   unmute    the mute is lifted
--   settings  text: the room's settings after the change ('post=... invite=... topic=... pin=...')
INSERT INTO event_kinds (kind) VALUES
    ('role'), ('kick'), ('ban'), ('unban'), ('mute'), ('unmute'), ('settings')
    ON CONFLICT (kind) DO NOTHING;

ALTER TABLE events ADD COLUMN ends_at BIGINT;

-- Who may do what in a room: 'members' (every member) or 'moderators' (its moderators and
-- owners, and the server's admins). post_by 'moderators' makes an announcement room.
ALTER TABLE rooms ADD COLUMN post_by TEXT NOT NULL DEFAULT 'members'
    CHECK (post_by IN ('members', 'moderators'));
ALTER TABLE rooms ADD COLUMN invite_by TEXT NOT NULL DEFAULT 'members'
    CHECK (invite_by IN ('members', 'moderators'));
ALTER TABLE rooms ADD COLUMN topic_by TEXT NOT NULL DEFAULT 'members'
    CHECK (topic_by IN ('members', 'moderators'));
ALTER TABLE rooms ADD COLUMN pin_by TEXT NOT NULL DEFAULT 'members'
    CHECK (pin_by IN ('members', 'moderators'));

-- A room's owners and moderators (everyone else is a plain member). Kept apart from the
-- membership: a moderator who leaves and comes back is still one; a kick or a ban removes it.
CREATE TABLE IF NOT EXISTS room_roles (
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'moderator')),
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX IF NOT EXISTS room_roles_by_user ON room_roles (user_id);

-- Existing rooms: their creator, where known, is the owner (the lobby and rooms made before
-- 0004 have none: the server's admins still moderate them). Direct rooms have no roles.
INSERT INTO room_roles (room_id, user_id, role)
    SELECT id, created_by, 'owner' FROM rooms
    WHERE created_by IS NOT NULL AND NOT deleted AND kind <> 'direct'
    ON CONFLICT (room_id, user_id) DO NOTHING;

-- Bans (cannot join nor be invited) and mutes (cannot post), each until ends_at (NULL: a ban
-- without end). A row whose ends_at has passed no longer counts; the next ban or mute of the
-- same member replaces it.
CREATE TABLE IF NOT EXISTS room_sanctions (
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('ban', 'mute')),
    ends_at BIGINT,
    PRIMARY KEY (room_id, user_id, kind)
);

-- Every admin and moderator action and every security-relevant event, written in the
-- transaction of the action it records (store/sql/audit_ops.py). Never a password, a token
-- or a message's text. actor: the name of who acted, as it was then ('operator' for the
-- parley command on the server's machine); actor_key its lower-cased form, for the filter.
-- No foreign keys: an entry outlives whatever it names.
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY,
    ts BIGINT NOT NULL,
    actor_id INTEGER,
    actor TEXT NOT NULL,
    actor_key TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    room TEXT,
    address TEXT,
    detail TEXT
);
-- Pages are newest first (by id); each filter has an index along that order.
CREATE INDEX IF NOT EXISTS audit_log_by_actor ON audit_log (actor_key, id);
CREATE INDEX IF NOT EXISTS audit_log_by_action ON audit_log (action, id);
CREATE INDEX IF NOT EXISTS audit_log_by_time ON audit_log (ts);
