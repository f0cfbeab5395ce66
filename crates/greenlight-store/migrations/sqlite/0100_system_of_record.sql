-- The system of record: tenancy, productions, declarations, registries, audit log.
-- Same tables as migrations/postgres/0100 (BLOB here, BYTEA there).

CREATE TABLE orgs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    -- The studio that created this company or vendor (its admins manage it).
    parent_id TEXT,
    salt TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT,
    salt TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE memberships (
    user_id TEXT NOT NULL REFERENCES users(id),
    org_id TEXT NOT NULL REFERENCES orgs(id),
    role TEXT NOT NULL,
    PRIMARY KEY (user_id, org_id, role)
);
CREATE INDEX memberships_org ON memberships(org_id);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    sha256 TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
);

CREATE TABLE productions (
    id TEXT PRIMARY KEY,
    studio_id TEXT NOT NULL REFERENCES orgs(id),
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    eu_release BIGINT NOT NULL,
    release_date TEXT,
    packs TEXT NOT NULL,
    salt TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX productions_studio ON productions(studio_id);

CREATE TABLE production_orgs (
    production_id TEXT NOT NULL REFERENCES productions(id),
    org_id TEXT NOT NULL REFERENCES orgs(id),
    PRIMARY KEY (production_id, org_id)
);
CREATE INDEX production_orgs_org ON production_orgs(org_id);

CREATE TABLE declarations (
    id TEXT PRIMARY KEY,
    production_id TEXT NOT NULL REFERENCES productions(id),
    org_id TEXT NOT NULL REFERENCES orgs(id),
    ref TEXT NOT NULL,
    summary TEXT NOT NULL,
    state TEXT NOT NULL,
    outcome TEXT NOT NULL,
    open_blockers BIGINT NOT NULL,
    open_obligations BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    decision TEXT,
    submitted_by TEXT NOT NULL REFERENCES users(id),
    salt TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (production_id, ref)
);
CREATE INDEX declarations_state ON declarations(state, created_at);
CREATE INDEX declarations_production ON declarations(production_id, created_at);
CREATE INDEX declarations_org ON declarations(org_id, created_at);

CREATE TABLE revisions (
    declaration_id TEXT NOT NULL REFERENCES declarations(id),
    number BIGINT NOT NULL,
    body TEXT NOT NULL,
    media TEXT NOT NULL,
    submitted_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (declaration_id, number)
);

CREATE TABLE triages (
    declaration_id TEXT NOT NULL REFERENCES declarations(id),
    revision BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    reason TEXT NOT NULL,
    effective TEXT NOT NULL,
    result TEXT NOT NULL,
    outcome TEXT NOT NULL,
    differences TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (declaration_id, revision, seq)
);

CREATE TABLE obligations (
    id TEXT PRIMARY KEY,
    declaration_id TEXT NOT NULL REFERENCES declarations(id),
    revision BIGINT NOT NULL,
    rule TEXT NOT NULL,
    pack TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    due TEXT,
    status TEXT NOT NULL,
    done_by TEXT,
    done_at TEXT,
    evidence TEXT,
    UNIQUE (declaration_id, revision, pack, rule, kind)
);

CREATE TABLE history (
    declaration_id TEXT NOT NULL REFERENCES declarations(id),
    n BIGINT NOT NULL,
    at TEXT NOT NULL,
    by_user TEXT,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    detail TEXT NOT NULL,
    PRIMARY KEY (declaration_id, n)
);

CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    studio_id TEXT NOT NULL REFERENCES orgs(id),
    production_id TEXT REFERENCES productions(id),
    performer TEXT NOT NULL,
    given_by TEXT NOT NULL,
    treatment TEXT NOT NULL,
    scope TEXT NOT NULL,
    signed TEXT NOT NULL,
    expires TEXT,
    revoked_at TEXT,
    revoked_reason TEXT,
    -- Set when the expiry date passed and the affected declarations were re-triaged.
    lapsed_at TEXT,
    document_name TEXT NOT NULL,
    document_sha256 TEXT NOT NULL,
    document BLOB NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    salt TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX consents_studio ON consents(studio_id);

CREATE TABLE consent_links (
    declaration_id TEXT NOT NULL REFERENCES declarations(id),
    performer TEXT NOT NULL,
    consent_id TEXT NOT NULL REFERENCES consents(id),
    by_user TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (declaration_id, performer)
);
CREATE INDEX consent_links_consent ON consent_links(consent_id);

CREATE TABLE confirmations (
    declaration_id TEXT NOT NULL REFERENCES declarations(id),
    kind TEXT NOT NULL,
    idx BIGINT NOT NULL,
    reference TEXT NOT NULL,
    by_user TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (declaration_id, kind, idx)
);

CREATE TABLE tools (
    id TEXT PRIMARY KEY,
    studio_id TEXT NOT NULL REFERENCES orgs(id),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    vendor TEXT,
    vendor_key TEXT NOT NULL,
    plan TEXT,
    agreement TEXT,
    data_terms TEXT NOT NULL,
    terms_reviewed TEXT,
    evidence_name TEXT,
    evidence_sha256 TEXT,
    evidence BLOB,
    salt TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (studio_id, name_key, vendor_key)
);

-- Which declarations use which registered tool (for re-triage when terms change).
CREATE TABLE declaration_tools (
    declaration_id TEXT NOT NULL REFERENCES declarations(id),
    tool_id TEXT NOT NULL REFERENCES tools(id),
    PRIMARY KEY (declaration_id, tool_id)
);
CREATE INDEX declaration_tools_tool ON declaration_tools(tool_id);

-- The audit log: appended by the writer, never updated or deleted by the application.
CREATE TABLE audit_entries (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT,
    org_id TEXT,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before_digest TEXT,
    after_digest TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_entries_org ON audit_entries(org_id, seq);

CREATE TABLE audit_checkpoints (
    seq BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    at TEXT NOT NULL,
    public_key TEXT NOT NULL,
    signature TEXT NOT NULL
);
