-- 0009_members_rights: deleting attempts keeps every aggregate true (/quiz forget-me).
--
-- The aggregates were only ever added to: score_totals and topic_stats grow by trigger
-- when an attempt is inserted or counted (0005), and score_histogram follows
-- score_totals (0004). Deleting an attempt left them counting it. These triggers take a
-- counted attempt back out in the same statement: its points, answer and correct answer
-- leave the member's week, month and all-time totals and its topic, and a totals or
-- topic row left with no answer goes. The histogram's own update and delete triggers then
-- move or drop the member's bucket, so ranks and boards read the same numbers a
-- recomputation from the remaining attempts gives. An uncounted attempt (an at_close
-- drill still open) was never added, so nothing is taken back.
--
-- Forgetting a member (bot/storage/repository.py, `forget_member`) deletes the attempts
-- first, through these triggers, then every other row keyed by the member: any table
-- with a `member_id` column referring to members(id), including tables added later, so
-- a new per-member table must name its column `member_id`.

CREATE TRIGGER attempts_delete_score_totals AFTER DELETE ON attempts
WHEN OLD.drill_id IS NOT NULL AND OLD.counted = 1
BEGIN
    UPDATE score_totals SET
        points = points - OLD.points,
        answered = answered - 1,
        correct = correct - (OLD.verdict = 'good')
     WHERE member_id = OLD.member_id
       AND ((period = 'week' AND period_key = OLD.week_key)
            OR (period = 'month' AND period_key = OLD.month_key)
            OR (period = 'all' AND period_key = 'all'));
    DELETE FROM score_totals
     WHERE member_id = OLD.member_id AND answered <= 0
       AND ((period = 'week' AND period_key = OLD.week_key)
            OR (period = 'month' AND period_key = OLD.month_key)
            OR (period = 'all' AND period_key = 'all'));
END;

CREATE TRIGGER attempts_delete_topic_stats AFTER DELETE ON attempts
WHEN OLD.counted = 1
BEGIN
    UPDATE topic_stats SET
        answered = answered - 1,
        correct = correct - (OLD.verdict = 'good')
     WHERE member_id = OLD.member_id AND topic = OLD.topic;
    DELETE FROM topic_stats
     WHERE member_id = OLD.member_id AND topic = OLD.topic AND answered <= 0;
END;
