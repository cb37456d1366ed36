-- 0011: what the directory made of each agency record kept (its brief:
-- the entry without its certificates, their fingerprints, the digest of
-- the signed record and of its signer's certificate), beside the record.
-- A restart reads these half-kilobyte rows, in key order, instead of the
-- 4 KB signed records and opens none: at 111,000 records that was 4.6 s of
-- a 5.3 s restart (issue 17). The signed records stay the truth: the
-- gateway checks them in the background after it starts and replaces
-- every entry made from a brief by the one its record makes
-- (Gateway.verifyKept). A record kept before this migration has no brief
-- until the gateway loads it once.
CREATE TABLE directory_briefs (
	key      TEXT    NOT NULL PRIMARY KEY REFERENCES directory (key) ON DELETE CASCADE,
	version  INTEGER NOT NULL,
	revision INTEGER NOT NULL,
	brief    BLOB    NOT NULL
) STRICT, WITHOUT ROWID;
