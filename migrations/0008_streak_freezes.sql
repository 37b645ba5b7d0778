-- Streak freezes: one earned per 7 drill days in a row, at most 2 held; each covers one
-- missed drill day of the channel, used when the member next answers.
ALTER TABLE streaks ADD COLUMN freezes INTEGER NOT NULL DEFAULT 0;
