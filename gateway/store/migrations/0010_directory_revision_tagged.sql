-- 0010: the revisions kept with directory records now carry the epoch of
-- the bucket they are from in bits 48–62 (bus.revisionTag), so
-- that a gateway never takes a record of a bucket made anew for the one
-- it kept because their revisions have the same number. Revisions kept
-- before carry none: they are forgotten (0, not known), and the next start
-- reads the directory whole once and keeps them tagged.
UPDATE directory SET revision = 0 WHERE revision < 281474976710656;
