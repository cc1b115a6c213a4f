-- Event kinds become rows of their own table, and rooms can be archived.
--
-- Until now `events.kind` was checked against a fixed list (CHECK); SQLite must rebuild a
-- table to change one (see the SQLite file of this number). The kinds are now the rows of
-- `event_kinds`, which every event refers to: the database still refuses an unknown kind, and
-- a feature that adds kinds adds rows. The kinds of the operator's room tools: `rename`
-- (text: the new name; invited_by: the old one), `archive` and `unarchive`.

CREATE TABLE event_kinds (kind TEXT PRIMARY KEY);

INSERT INTO event_kinds (kind) VALUES
    ('message'), ('edit'), ('delete'), ('join'), ('leave'), ('topic'),
    ('rename'), ('archive'), ('unarchive');

ALTER TABLE events DROP CONSTRAINT IF EXISTS events_kind_check;

ALTER TABLE events ADD CONSTRAINT events_kind_fkey
    FOREIGN KEY (kind) REFERENCES event_kinds (kind);

-- An archived room is read-only: its history stays readable, nothing is appended but an
-- `unarchive` (and members may still leave).
ALTER TABLE rooms ADD COLUMN archived BOOLEAN NOT NULL DEFAULT FALSE;

-- A deleted room keeps its row, empty (its events and memberships are erased) and nameless
-- (its name_key becomes '#<id>', which no room name can be): so its id is never given to
-- another room. Ids travel beyond the database (broker channels `room:<id>`, every node's
-- feeds), and SQLite would otherwise hand the highest one out again.
ALTER TABLE rooms ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT FALSE;
