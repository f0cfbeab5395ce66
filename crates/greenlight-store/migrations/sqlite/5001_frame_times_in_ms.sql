-- Ledger video frames are hashed several times a second: a frame's time is kept in
-- milliseconds (`at_ms`) instead of whole seconds. Rows written before are converted
-- (second * 1000) and keep matching as they did. The table is copied rather than updated in
-- place: multiplying the key column row by row could collide with a row not yet converted.
CREATE TABLE bank_asset_frames_ms (
    asset_id INTEGER NOT NULL REFERENCES bank_assets (id) ON DELETE CASCADE,
    at_ms INTEGER NOT NULL,
    pdq TEXT NOT NULL,
    quality INTEGER NOT NULL,
    PRIMARY KEY (asset_id, at_ms)
);
INSERT INTO bank_asset_frames_ms (asset_id, at_ms, pdq, quality)
    SELECT asset_id, second * 1000, pdq, quality FROM bank_asset_frames;
DROP TABLE bank_asset_frames;
ALTER TABLE bank_asset_frames_ms RENAME TO bank_asset_frames;
