-- 0002_slack_oauth: what Slack's multi-workspace install (OAuth) must remember.
-- slack_sdk's installation store and OAuth state store live here, in the bot's own
-- database, instead of slack_sdk's default files, so a restart, a redeploy or a second
-- process sees every workspace that installed the app (bot/storage/slack_store.py).
--
-- slack_installations: one row per (app, org, workspace, installing user); a reinstall
--   replaces the row. `data` is slack_sdk's Installation as JSON, tokens included:
--   protect the database file like the tokens themselves.
-- slack_bots: the bot token of each (app, org, workspace), the one the bot posts with;
--   `data` is slack_sdk's Bot as JSON. Kept apart so an install by a second user, or a
--   user-only install, never loses the workspace's bot token.
-- slack_oauth_states: the one-time `state` of each install link in flight. The OAuth
--   callback consumes it with a single DELETE, so a replayed redirect is refused.
--
-- '' stands for "no org" and for the team of an org-wide install, so the keys are
-- NOT NULL and UNIQUE works. Times are UTC ISO-8601 text, like the rest of the schema.

CREATE TABLE slack_installations (
    client_id     TEXT NOT NULL,
    enterprise_id TEXT NOT NULL DEFAULT '',
    team_id       TEXT NOT NULL DEFAULT '',
    user_id       TEXT NOT NULL DEFAULT '',
    data          TEXT NOT NULL,
    installed_at  TEXT NOT NULL,
    PRIMARY KEY (client_id, enterprise_id, team_id, user_id)
) WITHOUT ROWID;
CREATE INDEX slack_installations_latest
    ON slack_installations (client_id, enterprise_id, team_id, installed_at);

CREATE TABLE slack_bots (
    client_id     TEXT NOT NULL,
    enterprise_id TEXT NOT NULL DEFAULT '',
    team_id       TEXT NOT NULL DEFAULT '',
    data          TEXT NOT NULL,
    installed_at  TEXT NOT NULL,
    PRIMARY KEY (client_id, enterprise_id, team_id)
) WITHOUT ROWID;

CREATE TABLE slack_oauth_states (
    state      TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
