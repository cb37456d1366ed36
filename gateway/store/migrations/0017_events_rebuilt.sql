-- 0017: events rebuilt so that an event costs two pages fewer in the
-- write-ahead log (issue 20). Each page a commit changes is a frame of the
-- log, written, checksummed and copied again at the next checkpoint.
--
-- seq without AUTOINCREMENT: AUTOINCREMENT kept the last seq in
-- sqlite_sequence, a row rewritten by every insert, a page more in each
-- commit with an event. Without it a new row's seq is the largest one plus
-- one, which is the same number here: events are never deleted (the
-- trigger events_no_delete), so no seq is ever taken again, and the
-- cursors that read the events after a seq (the VXP feeds) see the same
-- order.
--
-- msg_id's uniqueness in a partial index of the rows that have one: the
-- UNIQUE constraint's index held a NULL for every event but a received
-- status's, a page written for each. The look-ups by msg_id (msg_id = ?)
-- imply msg_id IS NOT NULL and use it.
--
-- The rows are copied with their seq; the indexes, made again after the
-- copy, and the triggers are those the table had (0001, 0012, 0015).
CREATE TABLE events_rebuilt (
	seq         INTEGER NOT NULL PRIMARY KEY,
	document    TEXT    NOT NULL,
	recipient   TEXT    NOT NULL,
	kind        TEXT    NOT NULL,
	status_code TEXT    NOT NULL DEFAULT '',
	by_agency   TEXT    NOT NULL DEFAULT '',
	description TEXT    NOT NULL DEFAULT '',
	staff       TEXT    NOT NULL DEFAULT '',
	refusal     TEXT    NOT NULL DEFAULT '',
	packet_id   TEXT    REFERENCES packets (id),
	msg_id      TEXT,
	at          INTEGER NOT NULL,
	recorded_at INTEGER NOT NULL,
	FOREIGN KEY (document, recipient) REFERENCES deliveries (document, recipient)
) STRICT;

INSERT INTO events_rebuilt (seq, document, recipient, kind, status_code, by_agency, description, staff,
		refusal, packet_id, msg_id, at, recorded_at)
	SELECT seq, document, recipient, kind, status_code, by_agency, description, staff,
		refusal, packet_id, msg_id, at, recorded_at
	FROM events ORDER BY seq;

-- Dropping the table drops its indexes and triggers, and its row of
-- sqlite_sequence; no table refers to events.
DROP TABLE events;
ALTER TABLE events_rebuilt RENAME TO events;

CREATE UNIQUE INDEX events_msg_id ON events (msg_id) WHERE msg_id IS NOT NULL;
CREATE INDEX events_delivery ON events (document, recipient, kind, seq, description);
CREATE INDEX events_received ON events (seq) WHERE kind = 'received';
CREATE INDEX events_status_packets ON events (seq) WHERE kind = 'status' AND packet_id IS NOT NULL;

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are immutable');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are immutable');
END;
