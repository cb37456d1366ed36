-- 0001: the initial schema. Times are unix milliseconds, UTC. States are
-- envelope.State identifiers ("sent", "arrived" …); Seen sets are
-- envelope.StatusSet texts ("01,03"). Migrations are append-only: never
-- edit this file once released, add 0002_….sql.

-- packets: every edXML packet, byte for byte, once.
CREATE TABLE packets (
	id         TEXT    NOT NULL PRIMARY KEY,
	kind       TEXT    NOT NULL CHECK (kind IN ('edoc', 'status')),
	sha256     TEXT    NOT NULL,
	size       INTEGER NOT NULL,
	data       BLOB    NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

-- documents: one row per document at this gateway, outgoing or incoming.
-- search is the lower-cased subject, number, notation and sender name, for
-- DocumentQuery.Text.
CREATE TABLE documents (
	id                  TEXT    NOT NULL PRIMARY KEY,
	direction           TEXT    NOT NULL CHECK (direction IN ('out', 'in')),
	agency              TEXT    NOT NULL,
	document_id         TEXT    NOT NULL,
	sender              TEXT    NOT NULL,
	sender_name         TEXT    NOT NULL DEFAULT '',
	number              TEXT    NOT NULL DEFAULT '',
	notation            TEXT    NOT NULL DEFAULT '',
	subject             TEXT    NOT NULL DEFAULT '',
	type_name           TEXT    NOT NULL DEFAULT '',
	promulgation_date   TEXT    NOT NULL DEFAULT '',
	priority            INTEGER NOT NULL DEFAULT 0,
	due_date            TEXT    NOT NULL DEFAULT '',
	paper               INTEGER NOT NULL DEFAULT 0,
	bussiness_doc_type  INTEGER NOT NULL DEFAULT 0,
	related             TEXT    NOT NULL DEFAULT '',
	attachments         INTEGER NOT NULL DEFAULT 0,
	verdict_outcome     TEXT    NOT NULL DEFAULT '',
	verdict_subject     TEXT    NOT NULL DEFAULT '',
	verdict_fingerprint TEXT    NOT NULL DEFAULT '',
	verdict_reason_vi   TEXT    NOT NULL DEFAULT '',
	verdict_reason_en   TEXT    NOT NULL DEFAULT '',
	verdict_legacy      INTEGER NOT NULL DEFAULT 0,
	packet_id           TEXT    NOT NULL REFERENCES packets (id),
	msg_id              TEXT    NOT NULL DEFAULT '',
	search              TEXT    NOT NULL DEFAULT '',
	created_at          INTEGER NOT NULL,
	revoked_at          INTEGER,
	replaced_by         TEXT    NOT NULL DEFAULT '',
	updated_by          TEXT    NOT NULL DEFAULT ''
) STRICT;

-- An agency sends a DocumentId once; it receives one from a sender once.
CREATE UNIQUE INDEX documents_outgoing ON documents (agency, document_id) WHERE direction = 'out';
CREATE UNIQUE INDEX documents_incoming ON documents (agency, sender, document_id) WHERE direction = 'in';
-- Lists, newest first: all documents, or those of some agencies.
CREATE INDEX documents_created ON documents (created_at, id);
CREATE INDEX documents_agency_created ON documents (agency, created_at, id);

-- deliveries: a document with one recipient, and its lifecycle.
CREATE TABLE deliveries (
	document       TEXT    NOT NULL REFERENCES documents (id),
	recipient      TEXT    NOT NULL,
	recipient_name TEXT    NOT NULL DEFAULT '',
	transport      TEXT    NOT NULL CHECK (transport IN ('queued', 'sent', 'received')),
	state          TEXT    NOT NULL,
	before_recall  TEXT    NOT NULL,
	seen           TEXT    NOT NULL,
	sent_at        INTEGER,
	updated_at     INTEGER NOT NULL,
	PRIMARY KEY (document, recipient)
) STRICT;

CREATE INDEX deliveries_state ON deliveries (state, document);

-- events: immutable facts about deliveries. msg_id is the Nats-Msg-Id of a
-- received status, so that a redelivered status is recognised.
CREATE TABLE events (
	seq         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	document    TEXT    NOT NULL,
	recipient   TEXT    NOT NULL,
	kind        TEXT    NOT NULL,
	status_code TEXT    NOT NULL DEFAULT '',
	by_agency   TEXT    NOT NULL DEFAULT '',
	description TEXT    NOT NULL DEFAULT '',
	staff       TEXT    NOT NULL DEFAULT '',
	refusal     TEXT    NOT NULL DEFAULT '',
	packet_id   TEXT    REFERENCES packets (id),
	msg_id      TEXT    UNIQUE,
	at          INTEGER NOT NULL,
	recorded_at INTEGER NOT NULL,
	FOREIGN KEY (document, recipient) REFERENCES deliveries (document, recipient)
) STRICT;

CREATE INDEX events_document ON events (document, seq);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are immutable');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are immutable');
END;

-- outbox: packets waiting to be published, one row per recipient.
-- document is '' for a reply about no stored document (quarantine).
CREATE TABLE outbox (
	id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
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

CREATE INDEX outbox_due ON outbox (next_at, id);

-- quarantine: received packets that were not accepted. msg_id is NULL
-- when the message had none.
CREATE TABLE quarantine (
	id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	packet_id   TEXT    NOT NULL REFERENCES packets (id),
	subject     TEXT    NOT NULL DEFAULT '',
	msg_id      TEXT    UNIQUE,
	sender      TEXT    NOT NULL DEFAULT '',
	recipient   TEXT    NOT NULL DEFAULT '',
	reason      TEXT    NOT NULL,
	reason_vi   TEXT    NOT NULL DEFAULT '',
	reason_en   TEXT    NOT NULL DEFAULT '',
	received_at INTEGER NOT NULL
) STRICT;

CREATE INDEX quarantine_received ON quarantine (received_at, id);

-- idempotency: a DMS's Idempotency-Key, per agency, and what it gave.
CREATE TABLE idempotency (
	agency       TEXT    NOT NULL,
	key          TEXT    NOT NULL,
	request_hash TEXT    NOT NULL,
	document     TEXT    NOT NULL REFERENCES documents (id),
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (agency, key)
) STRICT;

-- audit: the append-only chain. hash = SHA-256 over prev_hash and the
-- row's fields (see audit.go); the first row's prev_hash is 64 zeros.
CREATE TABLE audit (
	seq       INTEGER NOT NULL PRIMARY KEY,
	at        INTEGER NOT NULL,
	action    TEXT    NOT NULL,
	document  TEXT    NOT NULL DEFAULT '',
	detail    TEXT    NOT NULL DEFAULT '',
	prev_hash TEXT    NOT NULL,
	hash      TEXT    NOT NULL
) STRICT;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
	SELECT RAISE(ABORT, 'the audit chain is append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
	SELECT RAISE(ABORT, 'the audit chain is append-only');
END;
