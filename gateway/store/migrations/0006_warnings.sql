-- 0006: what the receive profile tolerated in an incoming document (a
-- hub's TraceHeader without OrganId, one agency under both its codes), as
-- the JSON array of gateway.Document.Warnings; '' when nothing was. Documents
-- stored before have none: their packets are not read again.
ALTER TABLE documents ADD COLUMN warnings TEXT NOT NULL DEFAULT '';
