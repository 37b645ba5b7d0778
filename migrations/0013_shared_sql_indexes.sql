-- find_member matches a display name case-insensitively with lower(display_name), the SQL
-- SQLite and PostgreSQL share (PostgreSQL has no COLLATE NOCASE); the index follows, so
-- the lookup stays an index search.
DROP INDEX members_by_name;
CREATE INDEX members_by_name ON members (platform, workspace_id, lower(display_name));
