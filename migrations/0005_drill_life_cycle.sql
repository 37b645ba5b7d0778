-- 0005_drill_life_cycle: what keeps a channel's day consistent.
--
-- drills.claimed_at: when a process moved the drill to 'posting'. A drill left in
--   'posting' by a crash is re-claimed once that time is stale, by a conditional UPDATE
--   on (state, claimed_at), so two processes cannot both re-claim it.
-- drills_one_live: one channel has at most one drill posting or open, always. Older
--   duplicates (possible before this index) are closed here; their attempts stay.
-- attempts.counted: 0 while an at_close drill is open. The aggregates (score_totals,
--   topic_stats, and through them the histogram, boards, stats and ranks) count an
--   attempt only once it is counted; the close transaction flips the drill's attempts
--   to 1 and the update trigger adds them, so nothing reveals a verdict early and
--   leaderboards keep reading only their aggregate rows. (Filtering unrevealed drills out
--   at read time would need the attempt log in every board, stats and rank query; holding
--   the aggregate back keeps each read O(board) and makes the close the one writer.)
-- channels.skip_date (unchanged column) now means "skip every post day up to this date":
--   repeated /quiz skip moves it to the next post day after it, so skips add up.
-- study_groups: an empty group is deleted when its last member leaves; empty ones
--   left by earlier versions go now.

ALTER TABLE drills ADD COLUMN claimed_at TEXT;
UPDATE drills SET claimed_at = updated_at WHERE state = 'posting';

UPDATE drills SET state = 'closed', closed_at = coalesce(closed_at, updated_at)
 WHERE state IN ('posting', 'open')
   AND id != (SELECT live.id FROM drills AS live
               WHERE live.channel_id = drills.channel_id AND live.state IN ('posting', 'open')
               ORDER BY live.local_date DESC, live.id DESC LIMIT 1);

CREATE UNIQUE INDEX drills_one_live ON drills (channel_id) WHERE state IN ('posting', 'open');

ALTER TABLE attempts ADD COLUMN counted INTEGER NOT NULL DEFAULT 1 CHECK (counted IN (0, 1));

DROP TRIGGER attempts_score_totals;
DROP TRIGGER attempts_topic_stats;

CREATE TRIGGER attempts_score_totals AFTER INSERT ON attempts
WHEN NEW.drill_id IS NOT NULL AND NEW.counted = 1
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
WHEN NEW.counted = 1
BEGIN
    INSERT INTO topic_stats (member_id, topic, answered, correct)
    VALUES (NEW.member_id, NEW.topic, 1, NEW.verdict = 'good')
    ON CONFLICT (member_id, topic) DO UPDATE SET
        answered = answered + 1,
        correct = correct + excluded.correct;
END;

CREATE TRIGGER attempts_counted_score_totals AFTER UPDATE OF counted ON attempts
WHEN OLD.counted = 0 AND NEW.counted = 1 AND NEW.drill_id IS NOT NULL
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

CREATE TRIGGER attempts_counted_topic_stats AFTER UPDATE OF counted ON attempts
WHEN OLD.counted = 0 AND NEW.counted = 1
BEGIN
    INSERT INTO topic_stats (member_id, topic, answered, correct)
    VALUES (NEW.member_id, NEW.topic, 1, NEW.verdict = 'good')
    ON CONFLICT (member_id, topic) DO UPDATE SET
        answered = answered + 1,
        correct = correct + excluded.correct;
END;

DELETE FROM study_groups
 WHERE NOT EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = study_groups.id);
