-- 0019: the outbox rebuilt without AUTOINCREMENT, so that a commit that
-- queues a packet costs a frame fewer in the write-ahead log (issue 20):
-- AUTOINCREMENT kept the last id in sqlite_sequence, a row rewritten by
-- every insert. 0017 did the same for events; a commit that adds an event
-- and queues a packet (a document accepted or received, a status
-- emitted) still wrote the page for the outbox.
--
-- A new item's id is now the largest one queued plus one: the id of an
-- item taken out last (sent) may be given again once the outbox holds no
-- larger one. An id names an item while it is queued, which is all the
-- dispatcher needs (it reads the items, publishes them and marks or
-- postpones them by id in the same round; only MarkSent takes items out,
-- and it checks the packet and recipient of each); the audit's rows of a
-- sent or postponed item name its packet and recipient beside its id.
--
-- The items are copied with their ids; the index is made again after
-- the copy.
CREATE TABLE outbox_rebuilt (
	id         INTEGER NOT NULL PRIMARY KEY,
	packet_id  TEXT    NOT NULL REFERENCES packets (id),
	kind       TEXT    NOT NULL CHECK (kind IN ('edoc', 'status')),
	recipient  TEXT    NOT NULL,
	document   TEXT    NOT NULL DEFAULT '',
	attempts   INTEGER NOT NULL DEFAULT 0,
	next_at    INTEGER NOT NULL,
	last_error TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	UNIQUE (packet_id, recipient)
) STRICT;

INSERT INTO outbox_rebuilt (id, packet_id, kind, recipient, document, attempts, next_at, last_error, created_at)
	SELECT id, packet_id, kind, recipient, document, attempts, next_at, last_error, created_at
	FROM outbox ORDER BY id;

-- Dropping the table drops its index and its row of sqlite_sequence; no
-- table refers to the outbox.
DROP TABLE outbox;
ALTER TABLE outbox_rebuilt RENAME TO outbox;

CREATE INDEX outbox_due ON outbox (next_at, id);
