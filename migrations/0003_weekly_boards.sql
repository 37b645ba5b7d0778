-- 0003_weekly_boards: one weekly leaderboard post per channel and week.
-- The scheduler claims the (channel, week) row before posting, so a job that fires
-- twice, or two processes running the scheduler, post the board once.
CREATE TABLE weekly_boards (
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    week_key   TEXT NOT NULL,
    posted_at  TEXT NOT NULL,
    PRIMARY KEY (channel_id, week_key)
) WITHOUT ROWID;
