-- 0018: deliveries_report (document, recipient, state) dropped, so that a
-- delivery's insert and each status it takes cost a frame fewer in the
-- write-ahead log (issue 20): a status changes the delivery's state, and
-- so rewrote the index's entry, a page at each commit. It served the
-- lists' filter by State, which now reads a document's deliveries by
-- their key (the primary key's index) and the state from their rows; the
-- filter by Recipient is the key alone. The report reads
-- deliveries_created.
DROP INDEX IF EXISTS deliveries_report;
