-- The studio a reference bank belongs to, when the bank tables sit in a server's database that
-- hosts several studios: a studio's scans see its own banks and the deployment-wide ones
-- (studio NULL), never another studio's.
ALTER TABLE bank_references ADD COLUMN studio TEXT;
CREATE INDEX IF NOT EXISTS bank_references_studio ON bank_references (studio);
