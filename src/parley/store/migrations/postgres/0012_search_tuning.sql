-- Search tuning, PostgreSQL: statistics fine enough for the planner to choose between its two
-- ways of answering a search (docs/architecture.md, "Search"). (SQLite's file of this number
-- makes FTS5 merge its segments 8 at a time.)
--
-- A search is `search @@ query ... ORDER BY id DESC LIMIT n`. PostgreSQL either reads the
-- GIN index (every match, then sorts: fast for rare words) or walks the newest messages
-- backwards and tests each one (fast for common words and short prefixes, which match soon).
-- It chooses by the estimated number of matches, taken from the column's most common lexemes.
-- With the default statistics target (100: about 1,000 lexemes kept) a prefix such as 'ce'
-- matched few of the kept lexemes and was estimated at 23 messages when 4,076 matched: the
-- plan read and sorted all of them (35 ms, 3,926 heap pages; bench/search.py at 1,000,000
-- messages). At 1000 (about 10,000 lexemes) the same query walks back 400 rows (1.5 ms).
-- ANALYZE then samples 300,000 rows (about 5 s at 1,000,000 messages), here once and later
-- by autovacuum.
ALTER TABLE events ALTER COLUMN search SET STATISTICS 1000;

ANALYZE events;
