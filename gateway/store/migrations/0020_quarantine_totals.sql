-- 0020: quarantine_totals, and kept_at the reception of a packet's
-- latest entry (issue 20, and the security review of the quarantine).
--
-- The totals and their triggers were first added to 0016 after it was
-- committed, so a store migrated by a build of 0016 before that has
-- none, and each quarantine failed on it: they are made here, IF NOT
-- EXISTS, and the totals recomputed from the real counts whichever
-- build made them.
--
-- quarantine_totals: the quarantine's entries and the bytes of its
-- packets, kept by triggers, so that each quarantine finds them in one
-- row rather than by counting the quarantine, which at 10,000 entries took
-- 1.4-1.9 ms more of the writer's time per quarantine (Check compares them
-- with the counts).
CREATE TABLE IF NOT EXISTS quarantine_totals (
	id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	entries INTEGER NOT NULL,
	bytes   INTEGER NOT NULL
) STRICT;

INSERT OR REPLACE INTO quarantine_totals (id, entries, bytes) VALUES (1,
	(SELECT count(*) FROM quarantine), (SELECT coalesce(sum(size), 0) FROM quarantine_packets));

CREATE TRIGGER IF NOT EXISTS quarantine_totals_entry_in AFTER INSERT ON quarantine
BEGIN
	UPDATE quarantine_totals SET entries = entries + 1 WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS quarantine_totals_entry_out AFTER DELETE ON quarantine
BEGIN
	UPDATE quarantine_totals SET entries = entries - 1 WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS quarantine_totals_packet_in AFTER INSERT ON quarantine_packets
BEGIN
	UPDATE quarantine_totals SET bytes = bytes + new.size WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS quarantine_totals_packet_out AFTER DELETE ON quarantine_packets
BEGIN
	UPDATE quarantine_totals SET bytes = bytes - old.size WHERE id = 1;
END;

-- kept_at: the reception of the packet's latest entry, which Quarantine
-- keeps since, so that the bound of bytes drops the packet received least
-- recently, not a packet repeated all the time.
UPDATE quarantine_packets SET kept_at = coalesce(
	(SELECT max(q.received_at) FROM quarantine q WHERE q.packet_id = quarantine_packets.packet_id), kept_at);
