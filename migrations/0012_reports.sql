-- 0012_reports: members report questions; admins accept or reject (issue 14).
--
-- question_reports: one row per member and question (UNIQUE (question_id, member_id)):
--   a second report by the same member, from any drill, process or platform click,
--   inserts nothing and the first stands. `drill_id` is the drill it was made on (the
--   channel's latest revealed or open one, or the Report button's), which `/quiz
--   reports` lists per channel and an accepted wrong-key report regrades. `state` moves
--   open -> accepted | rejected once, by a conditional UPDATE on state = 'open'.
--   `python -m bot questions flags` reads this table (its columns id, question_id,
--   member_id, reason, text, created_at, state, resolved_at, resolution_note are stable).
--   forget-me deletes a member's reports (the member_id column, see 0010).
--
-- Regrading: accepting a wrong-key report UPDATEs the drill's attempts' verdict, score
--   and points, in the transaction that resolves the report and queues one 'dm' outbox
--   row per changed member (key dm:regraded:{drill}:{member}: once per member and
--   drill). Until now attempts were only inserted, counted or deleted: the triggers
--   below move a counted attempt's difference (new minus old points, correct) into its
--   week, month and all-time score_totals and its topic_stats, and the histogram
--   follows score_totals through its update trigger (0004). Streaks count answered
--   drill days, whatever the verdict, so a regrade leaves them as they are.

CREATE TABLE question_reports (
    id              INTEGER PRIMARY KEY,
    question_id     TEXT NOT NULL REFERENCES questions (id),
    member_id       INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    drill_id        INTEGER REFERENCES drills (id) ON DELETE SET NULL,
    reason          TEXT NOT NULL CHECK (reason IN ('wrong-key', 'ambiguous', 'typo',
                                                    'too-easy', 'too-hard', 'other')),
    text            TEXT NOT NULL DEFAULT '' CHECK (length(text) <= 500),
    created_at      TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'open'
                    CHECK (state IN ('open', 'accepted', 'rejected')),
    resolved_at     TEXT,
    resolution_note TEXT,
    UNIQUE (question_id, member_id)
);
CREATE INDEX question_reports_by_drill ON question_reports (drill_id, state);
CREATE INDEX question_reports_by_member ON question_reports (member_id);

CREATE TRIGGER attempts_regrade_score_totals AFTER UPDATE OF verdict, points ON attempts
WHEN OLD.counted = 1 AND NEW.counted = 1 AND NEW.drill_id IS NOT NULL
     AND (OLD.verdict != NEW.verdict OR OLD.points != NEW.points)
BEGIN
    UPDATE score_totals SET
        points = points + NEW.points - OLD.points,
        correct = correct + (NEW.verdict = 'good') - (OLD.verdict = 'good')
     WHERE member_id = NEW.member_id
       AND ((period = 'week' AND period_key = NEW.week_key)
            OR (period = 'month' AND period_key = NEW.month_key)
            OR (period = 'all' AND period_key = 'all'));
END;

CREATE TRIGGER attempts_regrade_topic_stats AFTER UPDATE OF verdict ON attempts
WHEN OLD.counted = 1 AND NEW.counted = 1 AND OLD.verdict != NEW.verdict
BEGIN
    UPDATE topic_stats SET correct = correct + (NEW.verdict = 'good') - (OLD.verdict = 'good')
     WHERE member_id = NEW.member_id AND topic = NEW.topic;
END;
