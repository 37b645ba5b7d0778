-- 0004_score_histogram: how many members hold each points total, per workspace and period.
-- A rank is 1 + the members above you: summing this histogram's few hundred buckets
-- replaces counting up to every member's score_totals row, which kept /quiz stats and
-- the leaderboard over their 10 ms budget at 100,000 members. Triggers keep it in the
-- same transaction as the score_totals change (itself in the attempt's transaction).

CREATE TABLE score_histogram (
    platform     TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    period       TEXT NOT NULL,
    period_key   TEXT NOT NULL,
    points       INTEGER NOT NULL,
    members      INTEGER NOT NULL,
    PRIMARY KEY (platform, workspace_id, period, period_key, points)
) WITHOUT ROWID;

INSERT INTO score_histogram (platform, workspace_id, period, period_key, points, members)
SELECT platform, workspace_id, period, period_key, points, count(*)
  FROM score_totals
 GROUP BY platform, workspace_id, period, period_key, points;

CREATE TRIGGER score_totals_histogram_insert AFTER INSERT ON score_totals
BEGIN
    INSERT INTO score_histogram (platform, workspace_id, period, period_key, points, members)
    VALUES (NEW.platform, NEW.workspace_id, NEW.period, NEW.period_key, NEW.points, 1)
    ON CONFLICT (platform, workspace_id, period, period_key, points) DO UPDATE SET
        members = members + 1;
END;

CREATE TRIGGER score_totals_histogram_update AFTER UPDATE OF points ON score_totals
WHEN OLD.points != NEW.points
BEGIN
    UPDATE score_histogram SET members = members - 1
     WHERE platform = OLD.platform AND workspace_id = OLD.workspace_id
       AND period = OLD.period AND period_key = OLD.period_key AND points = OLD.points;
    DELETE FROM score_histogram
     WHERE platform = OLD.platform AND workspace_id = OLD.workspace_id
       AND period = OLD.period AND period_key = OLD.period_key AND points = OLD.points
       AND members = 0;
    INSERT INTO score_histogram (platform, workspace_id, period, period_key, points, members)
    VALUES (NEW.platform, NEW.workspace_id, NEW.period, NEW.period_key, NEW.points, 1)
    ON CONFLICT (platform, workspace_id, period, period_key, points) DO UPDATE SET
        members = members + 1;
END;

CREATE TRIGGER score_totals_histogram_delete AFTER DELETE ON score_totals
BEGIN
    UPDATE score_histogram SET members = members - 1
     WHERE platform = OLD.platform AND workspace_id = OLD.workspace_id
       AND period = OLD.period AND period_key = OLD.period_key AND points = OLD.points;
    DELETE FROM score_histogram
     WHERE platform = OLD.platform AND workspace_id = OLD.workspace_id
       AND period = OLD.period AND period_key = OLD.period_key AND points = OLD.points
       AND members = 0;
END;
