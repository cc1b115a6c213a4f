-- Search (the `search` command, docs/protocol.md), PostgreSQL spelling of ../0005_search.sql:
-- a `tsvector` of each live message's text, in a GIN index.
--
-- * Accents: the `unaccent` extension, created here if the server has it (Debian's
--   postgresql-contrib, the server's own package, does). Creating an extension may be refused
--   (not installed, no privilege): the migration then goes on without it. The text's Latin
--   accented letters (and the common combining accents) are folded by `translate` first in
--   any case, so search still folds them (the query's words arrive folded: "café" is searched
--   as "cafe"); without `unaccent`, other marks (Vietnamese, Greek tonos ...) are not folded
--   in the text and such words are not found. docs/deployment.md says how to add it later.
-- * Words: the text search configuration `parley_search` is `simple` (no stemming, no stop
--   words: chat is many languages) with `unaccent` before it when there is one. PostgreSQL's
--   parser keeps host names, URLs and e-mail addresses whole (`docs.example.com` is one
--   lexeme, so `example` would not find it: Mattermost's "won't fix"); ASCII punctuation is
--   turned into spaces first, so they are their words, as on SQLite.
-- * Same transaction: the vector is a generated column, computed by the INSERT or UPDATE
--   that writes the text (edits re-index; a delete empties the text, and the column is NULL
--   for deleted messages and every non-message event, which the partial index leaves out).
--   The bench measured acknowledged sends per second with it against without
--   (bench/results/*-search.md). GIN's pending list (fastupdate, on by default) keeps an
--   insert's index work small; it is merged by vacuum.
-- * No pg_trgm index: the words of URLs and host names and word prefixes are found without
--   one, and a trigram index would cost every insert more than this one.

DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS unaccent;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'search: unaccent is not available (%), search is accent-sensitive', SQLERRM;
END
$$;

CREATE TEXT SEARCH CONFIGURATION parley_search (COPY = pg_catalog.simple);

DO $$
DECLARE
    home name;
BEGIN
    SELECT n.nspname INTO home
    FROM pg_extension AS x JOIN pg_namespace AS n ON n.oid = x.extnamespace
    WHERE x.extname = 'unaccent';
    IF home IS NOT NULL THEN
        EXECUTE format(
            'ALTER TEXT SEARCH CONFIGURATION parley_search ALTER MAPPING FOR'
            ' asciiword, asciihword, hword_asciipart, word, hword, hword_part,'
            ' numword, numhword, hword_numpart WITH %I.unaccent, pg_catalog.simple',
            home
        );
    END IF;
END
$$;

-- The text's words weigh A, the author's name B, the room `r<id>` C: `from:alice` and "only
-- the rooms I am in" are answered by the index too (a query's words match A lexemes only,
-- `from:` B ones, rooms C ones). Without the rooms, a word found in many messages of rooms
-- the user is not in made PostgreSQL read them all to discard them (bench/search.py: p99 of
-- 400 ms at 1,000,000 messages). A renamed user's messages get the new name (the rename
-- updates `author`, which recomputes the column).
ALTER TABLE events ADD COLUMN search tsvector GENERATED ALWAYS AS (
    CASE WHEN kind = 'message' AND NOT deleted THEN
        setweight(to_tsvector(
            'parley_search'::regconfig,
            translate(
                regexp_replace(coalesce(text, ''), '[!-/:-@[-`{-~]+', ' ', 'g'),
                'àáâãäåāăąçćčďèéêëēėęěìíîïīįñńňòóôõöōőŕřśšşťùúûüūůűųýÿźżž'
                || 'ÀÁÂÃÄÅĀĂĄÇĆČĎÈÉÊËĒĖĘĚÌÍÎÏĪĮÑŃŇÒÓÔÕÖŌŐŔŘŚŠŞŤÙÚÛÜŪŮŰŲÝŸŹŻŽ'
                || U&'\0300\0301\0302\0303\0308\030A\030C\0327',
                'aaaaaaaaacccdeeeeeeeeiiiiiinnnooooooorrssstuuuuuuuuyyzzz'
                || 'AAAAAAAAACCCDEEEEEEEEIIIIIINNNOOOOOOORRSSSTUUUUUUUUYYZZZ'
            )
        ), 'A')
        || setweight(to_tsvector(
            'parley_search'::regconfig,
            regexp_replace(author, '[!-/:-@[-`{-~]+', ' ', 'g')
        ), 'B')
        || setweight(to_tsvector('parley_search'::regconfig, 'r' || room_id::text), 'C')
    END
) STORED;

CREATE INDEX events_search ON events USING gin (search) WHERE search IS NOT NULL;
