-- Hash banks of the delivery scan. Versions >= 5000 and the bank_ prefix keep these apart
-- from the server's tables and migrations when both live in one database.
CREATE TABLE IF NOT EXISTS bank_assets (
    id BIGSERIAL PRIMARY KEY,
    production TEXT NOT NULL,
    use_ref TEXT NOT NULL,
    tool TEXT,
    added_at TEXT NOT NULL,
    file_name TEXT NOT NULL,
    blake3 TEXT NOT NULL,
    media_type TEXT NOT NULL,
    pdq TEXT,
    pdq_quality BIGINT,
    thumbnail BYTEA
);
CREATE INDEX IF NOT EXISTS bank_assets_production ON bank_assets (production);
CREATE INDEX IF NOT EXISTS bank_assets_blake3 ON bank_assets (blake3);

CREATE TABLE IF NOT EXISTS bank_asset_frames (
    asset_id BIGINT NOT NULL REFERENCES bank_assets (id) ON DELETE CASCADE,
    second BIGINT NOT NULL,
    pdq TEXT NOT NULL,
    quality BIGINT NOT NULL,
    PRIMARY KEY (asset_id, second)
);

CREATE TABLE IF NOT EXISTS bank_references (
    id BIGSERIAL PRIMARY KEY,
    bank TEXT NOT NULL,
    work_id TEXT NOT NULL,
    title TEXT NOT NULL,
    hash_type TEXT NOT NULL CHECK (hash_type IN ('pdq', 'blake3')),
    hash TEXT NOT NULL,
    quality BIGINT,
    added_at TEXT NOT NULL,
    UNIQUE (bank, hash_type, hash, work_id)
);
