-- Packs as records.
--
-- packs: the text of every pack a studio uploaded (studio_id = the studio's org id) and of every
-- built-in pack version this database has run (studio_id = ''), keyed by studio, id and
-- version; immutable once written. `digest` is the SHA-256 of `body`, which is what a triage
-- records, so any stored decision can be evaluated again with exactly the text it used, even
-- after a newer binary ships a newer built-in. `tests` keeps the pack's own test results at
-- upload (a JSON array of {name, line, passed}).
--
-- triages.basis: what a triage was evaluated with (a JSON object {as_of, packs: [{name,
-- digest}]}); '' for triages stored before this migration.
--
-- orgs.default_packs: a studio's pack set for new productions (a JSON array of pack names);
-- '[]' means the built-in default. Audit digests cover it only when it is set.
CREATE TABLE packs (
    studio_id TEXT NOT NULL,
    pack_id TEXT NOT NULL,
    version TEXT NOT NULL,
    digest TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    tests TEXT NOT NULL,
    uploaded_by TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (studio_id, pack_id, version)
);
CREATE INDEX packs_digest ON packs (digest);
ALTER TABLE triages ADD COLUMN basis TEXT NOT NULL DEFAULT '';
ALTER TABLE orgs ADD COLUMN default_packs TEXT NOT NULL DEFAULT '[]';
