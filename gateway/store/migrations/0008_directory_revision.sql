-- 0008: the revision in LT_DIRECTORY each kept record had there. A key's
-- value at a revision never changes, so at a restart the gateway reads
-- only the bucket's revisions and fetches the values it does not hold —
-- not the whole national directory again (issue 17). 0: not known (kept
-- before this migration), fetched once more.
ALTER TABLE directory ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
