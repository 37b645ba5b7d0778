-- 0006_outbox: every outbound effect is a row, written in the transaction that causes it.
--
-- outbox: one row per effect (kind): a daily 'post', a 'reveal' (edit of the post), the
--   short 'board' after it, a 'weekly' board, an admin 'dm'; 'reminder' is reserved.
--   `key` is the idempotency key and UNIQUE: post:{drill}, reveal:{drill}, board:{drill},
--   weekly:{channel}:{week}, dm:post-failed:{drill} (dm:reveal-failed:{drill},
--   dm:weekly-failed:{channel}:{week} for the others). A second writer of the same effect
--   (a double tick, a second process) inserts nothing. Rows carry ids (drill, week) and a
--   DM its reason, never rendered text: the dispatcher renders from the database
--   at delivery time.
--   Written together with: claiming a drill -> post; closing a drill -> reveal + board;
--   the weekly claim (weekly_boards row) -> weekly; a row going dead -> its dm.
--
-- The row's state machine (every move is a conditional UPDATE on the current state):
--
--     pending --claim--> sending --platform accepted--> done   (message_id stored here)
--        ^                  |  \--permanent error / gave up--> dead (+ one dm row)
--        |                  |
--        +--transient error-+  (attempts+1, next_attempt_at = backoff, never before
--        |                      Retry-After; unsure = 1 when it may have been delivered)
--        +--claimed_at stale (a crashed sender): claimable again, with unsure = 1
--     dead --/quiz post-now--> pending (re-armed; the dm key stays used: one dm)
--
--   A channel's rows are delivered in id order: a row is claimable only while no earlier
--   row of its channel is pending or sending, so yesterday's reveal and board go out
--   before today's question. `unsure` = the platform may already have the message: a
--   post is then looked up (Publisher.find_drill_post) before it is sent again.
--
-- Drills (see DrillState): 'pending' = claimed, its post row written, no attempt made;
--   the claim of the post row moves the drill to 'open' in the same transaction, so a
--   drill whose post may be out always takes answers (no ghost posts). A failure known
--   not to have reached the platform returns it to 'pending'; a dead post row of an
--   unattended (scheduled) delivery marks it 'failed'. 'posting' is no longer used:
--   drills left in it by an older version become 'open' with an unsure post row.
--
-- channels.next_post_at / next_weekly_at: the next scheduled instants, UTC, computed with
--   zoneinfo from the channel's settings on every settings change and after each fire
--   (NULL when paused). The scheduler's one job reads what is due through the indexes
--   below and advances an instant only if it is unchanged (compare-and-set), in the
--   transaction that writes the drill and its rows. Closes are due on the drill itself
--   (drills.closes_at, indexed for open drills).

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL
                    CHECK (kind IN ('post', 'reveal', 'board', 'weekly', 'dm', 'reminder')),
    channel_id      INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    drill_id        INTEGER REFERENCES drills (id) ON DELETE CASCADE,
    week_key        TEXT,
    detail          TEXT,  -- a dm's reason (the platform's error), not its wording
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
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_channel_queue ON outbox (channel_id, id) WHERE state IN ('pending', 'sending');

ALTER TABLE channels ADD COLUMN next_post_at TEXT;
ALTER TABLE channels ADD COLUMN next_weekly_at TEXT;
CREATE INDEX channels_next_post ON channels (next_post_at) WHERE next_post_at IS NOT NULL;
CREATE INDEX channels_next_weekly ON channels (next_weekly_at) WHERE next_weekly_at IS NOT NULL;
CREATE INDEX drills_due_close ON drills (closes_at) WHERE state = 'open';

-- A drill a crashed older version left 'posting' may be out: it takes answers, and its
-- post is looked up before it is sent again.
UPDATE drills SET state = 'open' WHERE state = 'posting';
INSERT INTO outbox (key, kind, channel_id, drill_id, state, unsure, next_attempt_at,
                    created_at)
SELECT 'post:' || id, 'post', channel_id, id, 'pending', 1, updated_at, updated_at
  FROM drills WHERE state = 'open' AND message_id IS NULL;
