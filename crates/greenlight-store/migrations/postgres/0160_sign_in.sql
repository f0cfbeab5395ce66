-- Sign-in: API token expiry, scope and rotation; one-time links by mail; the TOTP second
-- factor; single sign-on with a studio's OpenID provider.
--
-- tokens: `last_used_at` (updated at most once a minute per token), `production_id` (an API
-- token restricted to one production), `replaced_by` (the token a rotation issued; the old one
-- stays valid until its `expires_at`, the grace period). API tokens that existed before this
-- migration expire 90 days after it; new ones always carry an expiry (the fixed tokens of a
-- demo database are the only ones without).
--
-- one_time_links: password-reset links, stored as the SHA-256 of their secret; single use.
-- (Invitation links use invitations.token_sha256.)
--
-- signin_challenges: a password that was right, waiting for the person's second factor; the
-- browser holds the secret, the row its SHA-256, for five minutes.
--
-- totp_factors: a person's TOTP seed, sealed with the secrets key; `confirmed_at` is set once a
-- first code was entered; `last_step` is the last 30-second step accepted (each only once).
--
-- orgs.local_passwords: 0 when the studio switched local passwords off for people whose every
-- membership is in it. orgs.admin_totp: 1 when the studio's admins must use a second factor.
--
-- sso_settings: a studio's OpenID provider; `client_secret` is sealed with the secrets key.
-- sso_identities: a person's SSO identity, the pair (issuer, subject), never an email.
-- sso_pending: a sign-in under way (state, nonce, PKCE verifier), sealed, for ten minutes;
-- `intent` says what the sign-in is for (sign in, link to a signed-in person, accept an
-- invitation).
ALTER TABLE tokens ADD COLUMN last_used_at TEXT;
ALTER TABLE tokens ADD COLUMN production_id TEXT REFERENCES productions(id);
ALTER TABLE tokens ADD COLUMN replaced_by TEXT;
UPDATE tokens SET expires_at = to_char((now() + interval '90 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || '.000000Z'
    WHERE kind = 'api' AND expires_at IS NULL AND revoked_at IS NULL;

CREATE TABLE one_time_links (
    sha256 TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX one_time_links_user ON one_time_links(user_id);

CREATE TABLE signin_challenges (
    sha256 TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    next TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE totp_factors (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    seed TEXT NOT NULL,
    created_at TEXT NOT NULL,
    confirmed_at TEXT,
    last_step BIGINT
);

ALTER TABLE orgs ADD COLUMN local_passwords BIGINT NOT NULL DEFAULT 1;
ALTER TABLE orgs ADD COLUMN admin_totp BIGINT NOT NULL DEFAULT 0;

CREATE TABLE sso_settings (
    studio_id TEXT PRIMARY KEY REFERENCES orgs(id),
    issuer_url TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    scopes TEXT NOT NULL,
    claim TEXT NOT NULL,
    mapping TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL REFERENCES users(id)
);

CREATE TABLE sso_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    studio_id TEXT NOT NULL REFERENCES orgs(id),
    email TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX sso_identities_user ON sso_identities(user_id);

CREATE TABLE sso_pending (
    state TEXT PRIMARY KEY,
    studio_id TEXT NOT NULL REFERENCES orgs(id),
    record TEXT NOT NULL,
    intent TEXT NOT NULL,
    next TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
