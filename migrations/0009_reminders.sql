-- 0011_reminders: `/quiz remind on` in a channel asks for a private reminder an hour
-- before that channel's drill closes, while the member has not answered it.
--
-- reminder_subscriptions: one row per member and channel that asked (off = no row).
-- outbox.member_id: whom a 'reminder' row goes to. Its key, reminder:{drill}:{member},
--   makes one reminder per member and drill, however many ticks or processes queue it.
CREATE TABLE reminder_subscriptions (
    member_id  INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (channel_id, member_id)
) WITHOUT ROWID;

ALTER TABLE outbox ADD COLUMN member_id INTEGER REFERENCES members (id) ON DELETE CASCADE;
