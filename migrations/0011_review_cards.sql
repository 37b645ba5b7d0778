-- 0011_review_cards: spaced repetition (FSRS) and private practice sessions.
--
-- review_cards: one FSRS card per member and question (a member row is one platform
--   user in one workspace, so the key is unique per workspace, member and question).
--   `card` is py-fsrs's Card.to_json(); `due_at` (UTC) repeats the card's due instant so
--   "what is due" is an indexed range read. A card is reviewed in the transaction that
--   stores the answer grading it: a daily-drill attempt or a practice answer. A repeated
--   answer (the attempt's or the practice item's unique key) reviews nothing.
--   An answer to an open reveal:at_close drill is graded but not yet shown: its review
--   waits in pending_card / pending_due (card and due_at stay as they were, NULL for a
--   new card) and the close promotes it, in the transaction that counts the attempt, so
--   "reviews due" in /quiz stats cannot give the verdict away before the reveal.
--   Attempts from before this migration make no cards (FSRS needs each review's time
--   and rating, computed in Python): a member's cards start with their next answers.
-- members.practice_goal: the member's daily practice goal (/quiz goal), 6..20, default 8;
--   it is also a new session's default length.
-- practice_sessions: at most one 'open' session per member (practice_one_open), so two
--   starts at once leave one session; 'done' when every item is answered, 'stopped' when
--   the member stops it or starts a new one. `asked_at` is when the current question was
--   shown (the start, the previous answer, or a resume): an answer's speed counts from it.
-- practice_items: the session's questions in order, chosen at the start (due reviews
--   first, then new questions from the weakest topics). UNIQUE (session, question): no
--   question twice in a session. An item is answered once, by a conditional UPDATE on
--   answered_at IS NULL. Practice answers live here, never in `attempts`, so they
--   touch neither score_totals (points, leaderboards, ranks) nor streaks; the trigger
--   below counts them in topic_stats (accuracy per topic and the stats totals).

CREATE TABLE review_cards (
    member_id   INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    question_id TEXT NOT NULL REFERENCES questions (id),
    card         TEXT,            -- NULL while the card's only review is pending
    due_at       TEXT,
    pending_card TEXT,
    pending_due  TEXT,
    reviews      INTEGER NOT NULL DEFAULT 0,  -- reviews that landed (not pending ones)
    updated_at   TEXT NOT NULL,
    CHECK ((card IS NULL) = (due_at IS NULL)),
    CHECK ((pending_card IS NULL) = (pending_due IS NULL)),
    CHECK (card IS NOT NULL OR pending_card IS NOT NULL),
    PRIMARY KEY (member_id, question_id)
) WITHOUT ROWID;
CREATE INDEX review_cards_due ON review_cards (member_id, due_at) WHERE due_at IS NOT NULL;

ALTER TABLE members ADD COLUMN practice_goal INTEGER NOT NULL DEFAULT 8
    CHECK (practice_goal BETWEEN 6 AND 20);

CREATE TABLE practice_sessions (
    id          INTEGER PRIMARY KEY,
    member_id   INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    topic       TEXT,                -- NULL: every topic
    state       TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'stopped')),
    started_at  TEXT NOT NULL,
    asked_at    TEXT NOT NULL,
    finished_at TEXT
);
CREATE UNIQUE INDEX practice_one_open ON practice_sessions (member_id) WHERE state = 'open';
CREATE INDEX practice_sessions_by_member ON practice_sessions (member_id, started_at);

CREATE TABLE practice_items (
    session_id  INTEGER NOT NULL REFERENCES practice_sessions (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    question_id TEXT NOT NULL REFERENCES questions (id),
    topic       TEXT NOT NULL,
    review      INTEGER NOT NULL CHECK (review IN (0, 1)),  -- 1: the card was due
    answer      TEXT,
    normalized  TEXT,
    verdict     TEXT CHECK (verdict IN ('good', 'partial', 'wrong')),
    score       REAL,
    rating      INTEGER CHECK (rating BETWEEN 1 AND 4),      -- fsrs.Rating
    latency_ms  INTEGER,
    answered_at TEXT,
    PRIMARY KEY (session_id, position),
    UNIQUE (session_id, question_id)
) WITHOUT ROWID;

CREATE TRIGGER practice_items_topic_stats AFTER UPDATE OF answered_at ON practice_items
WHEN OLD.answered_at IS NULL AND NEW.answered_at IS NOT NULL
BEGIN
    INSERT INTO topic_stats (member_id, topic, answered, correct)
    SELECT s.member_id, NEW.topic, 1, NEW.verdict = 'good'
      FROM practice_sessions AS s WHERE s.id = NEW.session_id
    ON CONFLICT (member_id, topic) DO UPDATE SET
        answered = answered + 1,
        correct = correct + excluded.correct;
END;
