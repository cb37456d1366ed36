-- 0013: the quarterly report reads each row as two texts that the indexes
-- it reads hold ready, computed by SQLite when a row is written, rather
-- than from a dozen columns that it read, turned into text and joined for
-- each of a quarter's deliveries: 1,500,000 of them took 6 s, three
-- quarters of it in SQLite (issue 20). The store reads them in
-- gateway/store/report.go (reportDocument, reportDelivery), whose
-- expressions must stay these, word for word: SQLite reads an indexed
-- expression from the index only where a query has the same one.
--
-- documents_created keeps the columns it had for the lists. deliveries_report
-- keeps only those other queries read (a list's State and Recipient
-- filters): the report's others are in the text, and each entry of it is
-- written again at every status applied.
DROP INDEX documents_created;
CREATE INDEX documents_created ON documents (created_at, id,
	agency, direction, sender, bussiness_doc_type, paper, verdict_outcome, verdict_by_gateway, due_date,
	signed_pdfs,
	(((direction = 'out') | (paper << 1) | (bussiness_doc_type << 2) | (verdict_by_gateway << 7) | (signed_pdfs << 8))
		|| char(31) || created_at || char(31) || verdict_outcome || char(31) || due_date
		|| char(31) || agency || char(31) || sender || char(31) || id));
DROP INDEX deliveries_report;
CREATE INDEX deliveries_report ON deliveries (document, recipient, state,
	(state || char(31) || seen || char(31) || coalesce(arrived_at, '') || char(31)
		|| coalesce(accepted_at, '') || char(31) || coalesce(done_at, '') || char(31) || recipient));
