-- The union pack's facts of record.
--
-- productions.agreements: the union agreements a production works under (a JSON array of the
-- format's `production.agreements` values), set by the studio like eu_release. Existing
-- productions work under none, and keep the packs they have: this migration adds no pack.
--
-- consents.separately_signed: legal's record that the consent is clear and conspicuous and
-- signed apart from other terms (1) or not (0). Consents recorded before are not.
--
-- Audit digests of productions and consents cover these only when they are set (a non-empty
-- list, a 1), so every digest written before this migration still verifies.
ALTER TABLE productions ADD COLUMN agreements TEXT NOT NULL DEFAULT '[]';
ALTER TABLE consents ADD COLUMN separately_signed BIGINT NOT NULL DEFAULT 0;
