-- Notifications.
--
-- productions.contacts: the studio contacts of a production, a JSON object {"people": [user
-- ids], "group": address or null}; '{}' for none. Audit digests cover it only when it is set.
--
-- events: the outbox. Every change someone should hear about writes one row here in the same
-- transaction as the change (UUID v7 ids, so they sort by time); `data` is the JSON payload.
--
-- deliveries: one row per event and recipient (an email address or a webhook), written in the
-- same transaction as the event; the dispatcher claims due rows, sends them, and records the
-- attempt. `state`: pending (not yet tried, or to be tried again at `next_at`), delivered, dead
-- (gave up after the back-off schedule; `last_error` says why). `digest` email rows wait for the
-- recipient's daily digest instead of going out at once.
--
-- webhooks: a studio's subscribers; `secret` and `previous_secret` are sealed with the secrets
-- key (never stored in clear); during a rotation both sign.
--
-- notification_preferences: per person and event kind, `immediate`, `digest` or `off`.
--
-- schedule_marks: one row per time-driven event already raised (consent expiring at 30 and 7
-- days, obligations due), so the scheduled pass is idempotent across restarts and instances.
--
-- scans: the verdicts `greenlight scan --server` reports back, kept on the production page.
ALTER TABLE productions ADD COLUMN contacts TEXT NOT NULL DEFAULT '{}';

CREATE TABLE events (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    studio_id TEXT NOT NULL,
    production_id TEXT,
    data TEXT NOT NULL
);
CREATE INDEX events_studio ON events (studio_id, id);

CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES events (id),
    studio_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    digest BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    claimed_until TEXT,
    last_error TEXT,
    delivered_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (state, next_at);
CREATE INDEX deliveries_studio ON deliveries (studio_id, created_at);

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    studio_id TEXT NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    format TEXT NOT NULL,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_until TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE INDEX webhooks_studio ON webhooks (studio_id);

CREATE TABLE notification_preferences (
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    mode TEXT NOT NULL,
    PRIMARY KEY (user_id, kind)
);

CREATE TABLE schedule_marks (
    key TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);

CREATE TABLE scans (
    id TEXT PRIMARY KEY,
    production_id TEXT NOT NULL REFERENCES productions (id),
    verdict TEXT NOT NULL,
    summary TEXT NOT NULL,
    findings TEXT NOT NULL,
    posted_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX scans_production ON scans (production_id, created_at);
