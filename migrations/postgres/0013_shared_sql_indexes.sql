-- SQLite's 0013 moves members_by_name to lower(display_name); PostgreSQL's index has been
-- on that expression since 0012_init, so this only makes sure of it.
CREATE INDEX IF NOT EXISTS members_by_name ON members (platform, workspace_id, lower(display_name));

-- The board's order ends with member_id (points, then correct, then the member): with it
-- in the index, the top 10 is read in order even under a generic plan (asyncpg prepares
-- every statement, and a generic plan cannot count on a small LIMIT), not sorted.
DROP INDEX score_totals_board;
CREATE INDEX score_totals_board
    ON score_totals (platform, workspace_id, period, period_key, points DESC, correct DESC,
                     member_id);
