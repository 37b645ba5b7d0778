-- 0007_study_plan: the 4-week interview study plan a channel may follow (issue 14).
--
-- channels.plan: 'none', '4-week' (after week 4 it starts again at week 1) or
--   '4-week-once' (after week 4 the channel gets all its topics again).
-- channels.plan_start: the local date (YYYY-MM-DD, the channel's time zone) week 1
--   begins; week N is the 7 days from plan_start + 7 * (N - 1). NULL without a plan.
--   The daily pick prefers questions whose `week` (questions/*.yaml) is the plan week
--   among the channel's least-asked ones (bot/core/picking.py).
-- outbox.kind 'notice': a one-off message to the channel. The low-bank warning is one,
--   keyed notice:low-bank:{channel}:{topics}:w{week}, written (just ahead of the post
--   row, so it goes out first) in the transaction that claims the post leaving fewer
--   than 10 (LOW_BANK_WARNING) unasked questions there: the key makes it once per
--   channel, topics and plan week, whichever process claims the post. Its
--   `detail` holds the figures (JSON: left, week, topics), not wording. SQLite cannot
--   change a CHECK in place, so the outbox is rebuilt with its rows, ids and indexes.

ALTER TABLE channels ADD COLUMN plan TEXT NOT NULL DEFAULT 'none'
    CHECK (plan IN ('none', '4-week', '4-week-once'));
ALTER TABLE channels ADD COLUMN plan_start TEXT;

CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL
                    CHECK (kind IN ('post', 'reveal', 'board', 'weekly', 'dm', 'reminder',
                                    'notice')),
    channel_id      INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    drill_id        INTEGER REFERENCES drills (id) ON DELETE CASCADE,
    week_key        TEXT,
    detail          TEXT,  -- a dm's reason (the platform's error), a notice's figures
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'done', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    unsure          INTEGER NOT NULL DEFAULT 0 CHECK (unsure IN (0, 1)),
    next_attempt_at TEXT NOT NULL,
    claimed_at      TEXT,
    failing_since   TEXT,
    last_error      TEXT,
    message_id      TEXT,
    created_at      TEXT NOT NULL,
    done_at         TEXT
);
INSERT INTO outbox_new (id, key, kind, channel_id, drill_id, week_key, detail, state, attempts,
                        unsure, next_attempt_at, claimed_at, failing_since, last_error,
                        message_id, created_at, done_at)
SELECT id, key, kind, channel_id, drill_id, week_key, detail, state, attempts, unsure,
       next_attempt_at, claimed_at, failing_since, last_error, message_id, created_at, done_at
  FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_channel_queue ON outbox (channel_id, id) WHERE state IN ('pending', 'sending');
