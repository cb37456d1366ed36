-- 0016: the quarantine keeps each packet once, and is bounded (issue 20).
-- quarantine_packets has a row per packet kept in quarantine, with its
-- SHA-256 and size: a packet quarantined again under another message id
-- is found by its SHA-256 and becomes another entry of the same packet;
-- the bytes kept are the sum of the sizes. kept_at is the reception of
-- its first entry here; since 0020, of its latest (the bound of bytes
-- drops the packet received least recently first).
--
-- The packets quarantined before are each their own row (the same bytes
-- quarantined twice before are two). IF NOT EXISTS, OR IGNORE: a test runs
-- the migrations after an older one again.
CREATE TABLE IF NOT EXISTS quarantine_packets (
	packet_id TEXT    NOT NULL PRIMARY KEY REFERENCES packets (id),
	sha256    TEXT    NOT NULL,
	size      INTEGER NOT NULL,
	kept_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX IF NOT EXISTS quarantine_packets_sha256 ON quarantine_packets (sha256);
CREATE INDEX IF NOT EXISTS quarantine_packets_kept ON quarantine_packets (kept_at, packet_id);
CREATE INDEX IF NOT EXISTS quarantine_packet ON quarantine (packet_id);

INSERT OR IGNORE INTO quarantine_packets (packet_id, sha256, size, kept_at)
	SELECT p.id, p.sha256, p.size, min(q.received_at)
	FROM quarantine q JOIN packets p ON p.id = q.packet_id
	GROUP BY p.id;

-- quarantine_totals, which the quarantine's bounds read, is made by 0020:
-- it was first added here after 0016 was committed, which a store migrated
-- in between never ran.
