-- SQLite's 0013 moves members_by_name to lower(display_name); PostgreSQL's index has been
-- on that expression since 0012_init, so this only makes sure of it.
CREATE INDEX IF NOT EXISTS members_by_name ON members (platform, workspace_id, lower(display_name));
