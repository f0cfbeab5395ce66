-- Chromaprint fingerprints of audio (audio files and the sound of videos): one row per ledger
-- asset that has sound, and reference-bank entries of protected recordings. A fingerprint is
-- its raw 32-bit items, little-endian, as one blob (about 32 bytes a second).
CREATE TABLE IF NOT EXISTS bank_asset_audio (
    asset_id INTEGER PRIMARY KEY REFERENCES bank_assets (id) ON DELETE CASCADE,
    millis INTEGER NOT NULL,
    fingerprint BLOB NOT NULL
);

CREATE TABLE IF NOT EXISTS bank_reference_audio (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bank TEXT NOT NULL,
    work_id TEXT NOT NULL,
    title TEXT NOT NULL,
    blake3 TEXT NOT NULL,
    millis INTEGER NOT NULL,
    fingerprint BLOB NOT NULL,
    added_at TEXT NOT NULL,
    studio TEXT,
    UNIQUE (bank, work_id, blake3)
);
CREATE INDEX IF NOT EXISTS bank_reference_audio_studio ON bank_reference_audio (studio);
