-- Per-user room quotas (--rooms-per-day, --invitations-per-hour) are counted from the
-- database, in the transaction that would add one more, so they hold across processes and
-- restarts.
--
-- Rooms created by a user: `created_by` (NULL for rooms created before this migration, and
-- for rooms with no creator such as the lobby: they count toward no quota).
ALTER TABLE rooms ADD COLUMN created_by INTEGER REFERENCES users (id);
CREATE INDEX rooms_by_creator ON rooms (created_by, created_at);

-- Invitations received by a user: their `join` events that name an inviter. Partial, so the
-- messages that make up most of the table cost nothing to it.
CREATE INDEX events_invitations ON events (user_id, ts)
    WHERE kind = 'join' AND invited_by IS NOT NULL;
