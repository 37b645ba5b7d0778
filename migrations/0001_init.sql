-- 0001_init: the first schema.
-- Platform ids are TEXT. Every row that belongs to a workspace carries (platform,
-- workspace_id) directly or through its channel/member, and every query filters by it.
-- Idempotency lives here: UNIQUE(channel, local_date) on drills, UNIQUE(drill, member)
-- on attempts, and triggers that keep the leaderboard aggregates in the same
-- transaction as the attempt that changes them.

CREATE TABLE channels (
    id            INTEGER PRIMARY KEY,
    platform      TEXT NOT NULL,
    workspace_id  TEXT NOT NULL,
    channel_id    TEXT NOT NULL,
    post_time     TEXT NOT NULL DEFAULT '09:00',
    close_time    TEXT DEFAULT '17:00',
    timezone      TEXT NOT NULL DEFAULT 'UTC',
    topics        TEXT NOT NULL DEFAULT '',          -- comma-separated slugs; '' = all
    reveal        TEXT NOT NULL DEFAULT 'immediate' CHECK (reveal IN ('immediate', 'at_close')),
    days          TEXT NOT NULL DEFAULT '0,1,2,3,4', -- weekday numbers, Monday = 0
    paused        INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    skip_date     TEXT,                              -- local date whose post is skipped
    admin_user_id TEXT,                              -- who last ran setup: told about failures
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (platform, workspace_id, channel_id)
);

CREATE TABLE members (
    id           INTEGER PRIMARY KEY,
    platform     TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    UNIQUE (platform, workspace_id, user_id)
);
CREATE INDEX members_by_name ON members (platform, workspace_id, display_name COLLATE NOCASE);

-- The bank's questions as last loaded; retired ones stay so old drills keep their key.
CREATE TABLE questions (
    id           TEXT PRIMARY KEY,
    pack         TEXT NOT NULL,
    topic        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    difficulty   TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    retired      INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1)),
    updated_at   TEXT NOT NULL
);

CREATE TABLE drills (
    id          INTEGER PRIMARY KEY,
    channel_id  INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    local_date  TEXT NOT NULL,
    question_id TEXT NOT NULL REFERENCES questions (id),
    state       TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'posting', 'open', 'closed', 'failed')),
    opened_at   TEXT NOT NULL,
    closes_at   TEXT,
    closed_at   TEXT,
    message_id  TEXT,
    updated_at  TEXT NOT NULL,
    UNIQUE (channel_id, local_date)
);
CREATE INDEX drills_live ON drills (state) WHERE state IN ('pending', 'posting', 'open');

CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY,
    member_id   INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    drill_id    INTEGER REFERENCES drills (id) ON DELETE CASCADE,  -- NULL for practice
    question_id TEXT NOT NULL REFERENCES questions (id),
    topic       TEXT NOT NULL,
    answer      TEXT NOT NULL,
    normalized  TEXT NOT NULL,
    verdict     TEXT NOT NULL CHECK (verdict IN ('good', 'partial', 'wrong')),
    score       REAL NOT NULL,
    points      INTEGER NOT NULL,
    answered_at TEXT NOT NULL,
    latency_ms  INTEGER NOT NULL,
    week_key    TEXT NOT NULL,   -- leaderboard buckets of the drill's local date
    month_key   TEXT NOT NULL,
    UNIQUE (drill_id, member_id)
);
CREATE INDEX attempts_by_member ON attempts (member_id, answered_at);

-- Leaderboard aggregates per member and period; only daily drills score.
CREATE TABLE score_totals (
    member_id    INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    platform     TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    period       TEXT NOT NULL CHECK (period IN ('week', 'month', 'all')),
    period_key   TEXT NOT NULL,
    points       INTEGER NOT NULL DEFAULT 0,
    answered     INTEGER NOT NULL DEFAULT 0,
    correct      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (member_id, period, period_key)
) WITHOUT ROWID;
CREATE INDEX score_totals_board
    ON score_totals (platform, workspace_id, period, period_key, points DESC, correct DESC);

-- Accuracy per topic; counts every attempt.
CREATE TABLE topic_stats (
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    topic     TEXT NOT NULL,
    answered  INTEGER NOT NULL DEFAULT 0,
    correct   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (member_id, topic)
) WITHOUT ROWID;

-- Consecutive drill days answered in a channel; days without a drill don't break it.
CREATE TABLE streaks (
    member_id  INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    current    INTEGER NOT NULL,
    best       INTEGER NOT NULL,
    last_date  TEXT NOT NULL,
    PRIMARY KEY (member_id, channel_id)
) WITHOUT ROWID;

CREATE TABLE study_groups (
    id           INTEGER PRIMARY KEY,
    platform     TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,  -- case-folded name: "NLP" and "nlp" are one group
    created_by   INTEGER REFERENCES members (id) ON DELETE SET NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (platform, workspace_id, name_key)
);

CREATE TABLE group_members (
    group_id  INTEGER NOT NULL REFERENCES study_groups (id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    joined_at TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
) WITHOUT ROWID;
CREATE INDEX group_members_by_member ON group_members (member_id);

CREATE TRIGGER attempts_score_totals AFTER INSERT ON attempts
WHEN NEW.drill_id IS NOT NULL
BEGIN
    INSERT INTO score_totals (member_id, platform, workspace_id, period, period_key,
                              points, answered, correct)
    SELECT NEW.member_id, m.platform, m.workspace_id, p.period, p.period_key,
           NEW.points, 1, NEW.verdict = 'good'
      FROM members AS m,
           (SELECT 'week' AS period, NEW.week_key AS period_key
            UNION ALL SELECT 'month', NEW.month_key
            UNION ALL SELECT 'all', 'all') AS p
     WHERE m.id = NEW.member_id
    ON CONFLICT (member_id, period, period_key) DO UPDATE SET
        points = points + excluded.points,
        answered = answered + 1,
        correct = correct + excluded.correct;
END;

CREATE TRIGGER attempts_topic_stats AFTER INSERT ON attempts
BEGIN
    INSERT INTO topic_stats (member_id, topic, answered, correct)
    VALUES (NEW.member_id, NEW.topic, 1, NEW.verdict = 'good')
    ON CONFLICT (member_id, topic) DO UPDATE SET
        answered = answered + 1,
        correct = correct + excluded.correct;
END;
