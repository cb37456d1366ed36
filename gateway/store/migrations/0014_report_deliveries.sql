-- 0014: the quarterly report reads the deliveries alone, in one index, in
-- the order of their documents' creation, instead of joining each of a
-- quarter's documents to its deliveries: a million look-ups into
-- deliveries_report were half of what SQLite did for a report (issue 20).
--
-- A delivery keeps a copy of what the report reads of its document: its
-- creation (created_at, the index's order), its agency (agency, which a
-- report of some agencies keeps) and the text of its fields
-- (report_document, the expression reportDocument of
-- gateway/store/report.go, word for word). Those fields never change once
-- a document is stored (a revocation, update or replacement sets other
-- columns), so the copy is made once, when the delivery is inserted
-- (insertDelivery copies them from the document's row in the same
-- statement), and Check finds any copy that is not its document's.
ALTER TABLE deliveries ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN agency TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN report_document TEXT NOT NULL DEFAULT '';
UPDATE deliveries SET created_at = documents.created_at, agency = documents.agency,
	report_document = (((documents.direction = 'out') | (documents.paper << 1) | (documents.bussiness_doc_type << 2) |
		(documents.verdict_by_gateway << 7) | (documents.signed_pdfs << 8))
	|| char(31) || documents.created_at || char(31) || documents.verdict_outcome || char(31) || documents.due_date
	|| char(31) || documents.agency || char(31) || documents.sender || char(31) || documents.id)
FROM documents WHERE documents.id = deliveries.document;

-- note: the description of the delivery's last applied status (the Note of
-- gateway.Delivery and gateway.ReportRow), which the report read with a
-- look-up into the events for each rejected delivery and each one whose
-- recall was pending: a fifth of a report's CPU, with the fixture's 13 %
-- of such deliveries. The statements that apply a status write it with
-- the lifecycle (setLifecycle), and a delivery received with its 01 is
-- inserted with the 01's (insertDelivery): no statement more, where a
-- trigger on the events' inserts cost each status applied an update of
-- its own (4-5 % of ApplyStatus's CPU). Check compares the two.
ALTER TABLE deliveries ADD COLUMN note TEXT NOT NULL DEFAULT '';
UPDATE deliveries SET note = coalesce((SELECT e.description FROM events e
		WHERE e.document = deliveries.document AND e.recipient = deliveries.recipient AND e.kind = 'status'
		ORDER BY e.seq DESC LIMIT 1), '');

-- deliveries_created is what the report reads: the deliveries in the order
-- of their documents' creation, with the document's agency (a report of
-- some agencies skips the others' in the index) and text, the delivery's
-- text (the expression reportDelivery, word for word, which 0013 put at the
-- end of deliveries_report) and its note. Its entry is written again at
-- every status applied, as deliveries_report's was.
CREATE INDEX deliveries_created ON deliveries (created_at, document, agency, report_document,
	(state || char(31) || seen || char(31) || coalesce(arrived_at, '') || char(31)
		|| coalesce(accepted_at, '') || char(31) || coalesce(done_at, '') || char(31) || recipient),
	note);

-- The texts the report no longer reads where 0013 put them: deliveries_report
-- keeps the columns the lists' State and Recipient filters and the overdue
-- count read (its entry is now written again only when a status changes the
-- state), documents_created those it had before 0013.
DROP INDEX deliveries_report;
CREATE INDEX deliveries_report ON deliveries (document, recipient, state);
DROP INDEX documents_created;
CREATE INDEX documents_created ON documents (created_at, id,
	agency, direction, sender, bussiness_doc_type, paper, verdict_outcome, verdict_by_gateway, due_date,
	signed_pdfs);
