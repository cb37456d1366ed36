-- packet_chunks: the bytes of packets above 1 MiB, in 1 MiB pieces, so
-- that storing or reading a 67 MB packet never makes SQLite hold it whole
-- (binding a blob copies it, and building the row copies it again). Such a
-- packet's packets.data is empty; its size is the sum of its chunks.
CREATE TABLE packet_chunks (
	packet_id TEXT    NOT NULL REFERENCES packets (id),
	seq       INTEGER NOT NULL,
	data      BLOB    NOT NULL,
	PRIMARY KEY (packet_id, seq)
) STRICT;
