-- 0015: one index of the events by delivery instead of three, so that an
-- event costs fewer pages in the write-ahead log (issue 20). Each index an
-- event goes into is a page written at its commit, and most commits are of
-- one document: an event went into events_document (document, seq), a
-- status's into events_note (document, recipient, seq, description) as
-- well, a refused status's into events_refused (document, recipient).
-- events_delivery holds every event by (document, recipient, kind, seq)
-- and answers each of their reads: a delivery's last applied status and
-- its description (the Note), a delivery's applied or refused statuses (a
-- status's replay check), and a document's events, which are then sorted
-- by seq (a few to a few hundred, for a circular). A document's events
-- and a status's are one page where they were two or three.
--
-- IF EXISTS, IF NOT EXISTS: a test runs the migrations after 0009 again,
-- and 0012 then makes events_refused once more.
DROP INDEX IF EXISTS events_document;
DROP INDEX IF EXISTS events_note;
DROP INDEX IF EXISTS events_refused;
CREATE INDEX IF NOT EXISTS events_delivery ON events (document, recipient, kind, seq, description);
