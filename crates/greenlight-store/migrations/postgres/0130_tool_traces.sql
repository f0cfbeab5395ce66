-- The traces a registered tool leaves in what it makes, as legal records them: a JSON array of
-- `c2pa`, `iptc`, `watermark`, `metadata`, or `["none"]` for a tool that leaves none (its
-- output is then found at delivery only through the ledger). Tools recorded before are `[]`
-- (not recorded), and their audit digests cover the field only when it is set, so every digest
-- written before this migration still verifies.
ALTER TABLE tools ADD COLUMN traces TEXT NOT NULL DEFAULT '[]';
