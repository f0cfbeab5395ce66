-- Invitations: an existing person is never enrolled into an organisation by someone else;
-- they are invited and accept (or decline) while signed in as themselves.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    -- The invited person when they already have an account; NULL for a new address.
    user_id TEXT REFERENCES users(id),
    email TEXT NOT NULL,
    -- JSON array of role names.
    roles TEXT NOT NULL,
    invited_by TEXT NOT NULL REFERENCES users(id),
    -- SHA-256 of a single-use link's secret, when the invitation travels by mail.
    token_sha256 TEXT UNIQUE,
    -- pending, accepted, declined, revoked
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    decided_at TEXT
);
CREATE INDEX invitations_user ON invitations(user_id, state);
CREATE INDEX invitations_org ON invitations(org_id, state);
