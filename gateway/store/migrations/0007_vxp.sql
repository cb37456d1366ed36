-- 0007: the VXP face (gateway/vxp). A document-management system that
-- speaks the national axis SDK's protocol polls for what its agencies
-- received: vxp_items are those packets as it sees them, each under a
-- UUID (its docId) until it acknowledges it; vxp_cursors say how far the
-- events of each of its agencies (events.seq: a document received, a
-- status received) have been looked at. events.seq, an INTEGER PRIMARY
-- KEY, keeps its values through VACUUM and VACUUM INTO, which may renumber
-- the implicit rowid of documents.
CREATE TABLE vxp_items (
	doc_id      TEXT    NOT NULL PRIMARY KEY,
	system      TEXT    NOT NULL,
	kind        TEXT    NOT NULL CHECK (kind IN ('edoc', 'status')),
	agency      TEXT    NOT NULL,
	document    TEXT    NOT NULL REFERENCES documents (id),
	event       INTEGER NOT NULL DEFAULT 0,
	packet_id   TEXT    NOT NULL REFERENCES packets (id),
	sender      TEXT    NOT NULL,
	state       TEXT    NOT NULL CHECK (state IN ('new', 'processing', 'fail', 'done')),
	description TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
) STRICT;

-- One item per system and source (a document, or a status event on one).
CREATE UNIQUE INDEX vxp_items_source ON vxp_items (system, kind, document, event);
-- The list: a system's items not yet done, by when they were received.
CREATE INDEX vxp_items_pending ON vxp_items (system, kind, created_at) WHERE state <> 'done';

CREATE TABLE vxp_cursors (
	system TEXT    NOT NULL,
	kind   TEXT    NOT NULL CHECK (kind IN ('edoc', 'status')),
	agency TEXT    NOT NULL,
	after  INTEGER NOT NULL,
	PRIMARY KEY (system, kind, agency)
) STRICT;

-- Documents received and statuses received with their packet, in the
-- order they were recorded.
CREATE INDEX events_received ON events (seq) WHERE kind = 'received';
CREATE INDEX events_status_packets ON events (seq) WHERE kind = 'status' AND packet_id IS NOT NULL;
