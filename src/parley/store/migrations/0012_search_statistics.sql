-- Search statistics (PostgreSQL only: see postgres/0012_search_statistics.sql).
--
-- SQLite's FTS5 index is not planned from column statistics: it answers a search from the
-- index's own posting lists, newest first, so there is nothing to change here. The file
-- keeps the two engines' versions in step.
SELECT 1;
