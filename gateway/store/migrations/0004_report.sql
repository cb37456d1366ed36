-- 0004: what the quarterly report reads.

-- signed_pdfs: how many of a document's attachments are PDFs with a digital
-- signature in them (envelope.Attachment.SignedPDF). Documents stored
-- before this migration count none: their packets are not read again.
ALTER TABLE documents ADD COLUMN signed_pdfs INTEGER NOT NULL DEFAULT 0;

-- verdict_by_gateway: the packet came unsigned and the gateway signed it
-- on acceptance (gateway.Verdict.ByGateway); the report does not count it
-- as signed by its agency. Before, only the reason said so.
ALTER TABLE documents ADD COLUMN verdict_by_gateway INTEGER NOT NULL DEFAULT 0;
UPDATE documents SET verdict_by_gateway = 1
	WHERE direction = 'out' AND verdict_reason_en = 'signed by the gateway on acceptance';

-- The milestones of a delivery: when its lifecycle first took 01, 03 and
-- 06, each the applied status's own time (its event's at); NULL if it never
-- did. An incoming delivery arrives when it is received.
ALTER TABLE deliveries ADD COLUMN arrived_at INTEGER;
ALTER TABLE deliveries ADD COLUMN accepted_at INTEGER;
ALTER TABLE deliveries ADD COLUMN done_at INTEGER;

-- Backfill from the applied statuses (kind 'status'; a refused one,
-- 'status_refused', never moved the lifecycle). An incoming delivery
-- received without its 01 being recorded arrived when it was received.
UPDATE deliveries SET
	arrived_at = coalesce(
		(SELECT min(e.at) FROM events e
			WHERE e.document = deliveries.document AND e.recipient = deliveries.recipient
				AND e.kind = 'status' AND e.status_code = '01'),
		(SELECT min(e.at) FROM events e
			WHERE e.document = deliveries.document AND e.recipient = deliveries.recipient
				AND e.kind = 'received')),
	accepted_at =
		(SELECT min(e.at) FROM events e
			WHERE e.document = deliveries.document AND e.recipient = deliveries.recipient
				AND e.kind = 'status' AND e.status_code = '03'),
	done_at =
		(SELECT min(e.at) FROM events e
			WHERE e.document = deliveries.document AND e.recipient = deliveries.recipient
				AND e.kind = 'status' AND e.status_code = '06');

-- The quarterly report reads every delivery of the documents of a quarter
-- (a million documents must take seconds), in one pass in the order of
-- creation, from indexes alone: documents_created, which the lists read
-- too, gets the columns the report reads of a document, and
-- deliveries_report has those it reads of a delivery. (One pass over the
-- quarter, not one per agency on documents_agency_created: the agencies'
-- documents are interleaved in time, and so are their deliveries in
-- deliveries_report, whose pages each agency's pass would read again.)
DROP INDEX documents_created;
CREATE INDEX documents_created ON documents (created_at, id,
	agency, direction, sender, bussiness_doc_type, paper, verdict_outcome, verdict_by_gateway, due_date,
	signed_pdfs);
CREATE INDEX deliveries_report ON deliveries (document, recipient,
	state, seen, arrived_at, accepted_at, done_at);

-- A delivery's note, the description of its last applied status, is one
-- look-up in this index, where events_document needs one per event of the
-- document read backwards.
CREATE INDEX events_note ON events (document, recipient, seq, description) WHERE kind = 'status';
