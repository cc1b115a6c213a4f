-- Search (the `search` command, docs/protocol.md): a full-text index of messages' current text.
--
-- An FTS5 table with external content: it stores only the index, and reads the text back
-- from `events` (rowid = the message id, `mid`). Its tokenizer is the one the query language
-- expects (src/parley/search/query.py): `unicode61` cuts at every character that is not a
-- letter or digit, so a host name or URL is its words (`example` finds
-- `https://docs.example.com/x`), lower-cases, and with `remove_diacritics 2` drops accents.
-- `prefix = '2 3'` keeps two- and three-letter prefixes in the index, so the last word of a
-- query (matched as a prefix as one types) does not walk the vocabulary.
--
-- No trigram index: a word's beginning (prefix) and every part of a URL or host name are
-- already found, and a trigram table would be about three times the size of this one, every
-- message paying for it on insert (docs/architecture.md, "Search"; bench/search.py).
--
-- Kept in the same transaction as the messages, by triggers: a message is found as soon as
-- it is acknowledged, an edit replaces the indexed text, and a delete (the text becomes '',
-- `deleted` TRUE) or a deleted room removes it, committed together or not at all. Only the
-- message rows are indexed, live ones only: `edit` rows keep a copy of each version's text,
-- which search must never find. The bench measured acknowledged sends per second with these
-- triggers against without (bench/results/*-search.md).
--
-- An external-content index must be told the exact text it indexed to remove a row: the
-- triggers pass the old row's, and never remove a row they did not add (a deleted message).

CREATE VIRTUAL TABLE events_fts USING fts5(
    text,
    content = 'events',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

INSERT INTO events_fts (rowid, text)
SELECT id, text FROM events WHERE kind = 'message' AND NOT deleted;

CREATE TRIGGER events_fts_insert AFTER INSERT ON events
WHEN new.kind = 'message' AND NOT new.deleted
BEGIN
    INSERT INTO events_fts (rowid, text) VALUES (new.id, new.text);
END;

CREATE TRIGGER events_fts_update AFTER UPDATE OF text, deleted ON events
WHEN old.kind = 'message'
BEGIN
    INSERT INTO events_fts (events_fts, rowid, text)
    SELECT 'delete', old.id, old.text WHERE NOT old.deleted;
    INSERT INTO events_fts (rowid, text)
    SELECT new.id, new.text WHERE NOT new.deleted;
END;

CREATE TRIGGER events_fts_delete AFTER DELETE ON events
WHEN old.kind = 'message' AND NOT old.deleted
BEGIN
    INSERT INTO events_fts (events_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
