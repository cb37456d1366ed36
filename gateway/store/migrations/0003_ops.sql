-- 0003: what the operations endpoints and the metrics read.

-- ping: one row that Store.Ping rewrites, so that a readiness probe makes
-- a real, tiny write.
CREATE TABLE ping (
	id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	at INTEGER NOT NULL
) STRICT;

-- Incoming documents by due date, for the count of overdue ones.
CREATE INDEX documents_due ON documents (due_date) WHERE direction = 'in' AND due_date <> '';
