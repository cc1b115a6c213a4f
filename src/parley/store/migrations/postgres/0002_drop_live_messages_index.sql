-- events_live_messages (room_id, seq, user_id) repeated the prefix of UNIQUE (room_id, seq),
-- which already serves the unread count (capped at 1,000 rows since UNREAD_CAP). Every message
-- paid for maintaining it on insert: this is the write path's hottest table.
DROP INDEX IF EXISTS events_live_messages;
