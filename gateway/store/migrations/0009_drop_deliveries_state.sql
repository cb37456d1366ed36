-- 0009: deliveries_state (state, document) is read by no query: every
-- read of deliveries by state is of one document's (a list's State
-- filter, the overdue count), which deliveries_report, keyed by document
-- with the state in it, answers alone. Kept, it cost every delivery
-- created and every status applied or emitted two more index entries
-- (and their pages in the write-ahead log).
DROP INDEX deliveries_state;
