-- Search (the `search` command, docs/protocol.md): a full-text index of messages' current text.
--
-- An FTS5 table with external content: it stores only the index, and reads the text back
-- from `events` (rowid = the message id, `mid`). Its tokenizer is the one the query language
-- expects (src/parley/search/query.py): `unicode61` cuts at every character that is not a
-- letter or digit, so a host name or URL is its words (`example` finds
-- `https://docs.example.com/x`), lower-cases, and with `remove_diacritics 2` drops accents.
-- `prefix = '2 3'` keeps two- and three-letter prefixes in the index, so the last word of a
-- query (matched as a prefix as one types) does not walk the vocabulary. The author's name is
-- a column of its own, so `from:alice` is answered by the index too (a search matches the
-- query's words in `text` only); a renamed user's messages are re-indexed with the new name.
--
-- No trigram index: a word's beginning (prefix) and every part of a URL or host name are
-- already found, and a trigram table would be about three times the size of this one, every
-- message paying for it on insert (docs/architecture.md, "Search"; bench/search.py).
--
-- Indexed from a queue, not in the transaction that stores a message: tokenizing and indexing
-- a message costs FTS5 several times what storing the row does (bench/search.py measured it,
-- bench/results/*-search.md), and acknowledged sends per second would fall well below 90 % of
-- what they are without an index. So storing a message only adds its id to `search_pending`
-- (a trigger: a small b-tree insert), and the store's indexer (src/parley/store/sql/indexer.py)
-- moves pending messages into the index in large chunks, through the same writer, when no
-- write waits or when the queue passes its bound. `search` says how many messages are still
-- pending (normally none: they are indexed within a fraction of a second).
--
-- Edits and deletes are not deferred: they change the index in their own transaction. An
-- edit replaces the indexed text; a delete (the text becomes '', `deleted` TRUE) or a deleted
-- room removes it, committed together or not at all: a deleted message is never found. A
-- message still pending is not in the index yet, and is read as it is when its turn comes
-- (its current text; nothing if deleted or gone). Only message rows are indexed, live ones
-- only: `edit` rows keep a copy of each version's text, which search must never find.
--
-- An external-content index must be told the exact text it indexed to remove a row: the
-- triggers pass the old row's, and never remove a row they did not add (a deleted or still
-- pending message). Ids may be reused after a room's newest events are deleted (SQLite gives
-- max(id) + 1): a reused id is queued again (INSERT OR IGNORE) and indexed with its new text.

CREATE VIRTUAL TABLE events_fts USING fts5(
    text,
    author,
    content = 'events',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

-- Messages waiting to be indexed (their ids), oldest first.
CREATE TABLE search_pending (id INTEGER PRIMARY KEY);

INSERT INTO events_fts (rowid, text, author)
SELECT id, text, author FROM events WHERE kind = 'message' AND NOT deleted;

CREATE TRIGGER events_fts_insert AFTER INSERT ON events
WHEN new.kind = 'message'
BEGIN
    INSERT OR IGNORE INTO search_pending (id) VALUES (new.id);
END;

CREATE TRIGGER events_fts_update AFTER UPDATE OF text, deleted, author ON events
WHEN old.kind = 'message' AND NOT EXISTS (SELECT 1 FROM search_pending WHERE id = old.id)
BEGIN
    INSERT INTO events_fts (events_fts, rowid, text, author)
    SELECT 'delete', old.id, old.text, old.author WHERE NOT old.deleted;
    INSERT INTO events_fts (rowid, text, author)
    SELECT new.id, new.text, new.author WHERE NOT new.deleted;
END;

CREATE TRIGGER events_fts_delete AFTER DELETE ON events
WHEN old.kind = 'message' AND NOT old.deleted
BEGIN
    INSERT INTO events_fts (events_fts, rowid, text, author)
    SELECT 'delete', old.id, old.text, old.author
    WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE id = old.id);
    DELETE FROM search_pending WHERE id = old.id;
END;
