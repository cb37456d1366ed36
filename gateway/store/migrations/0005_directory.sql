-- 0005: the directory records the gateway applied, kept so that it starts
-- with the directory it last believed and never takes an older record, or
-- anything else found under a key, in place of it (the bucket's content
-- can change under it in ways no permission prevents).
CREATE TABLE directory (
	key        TEXT    NOT NULL PRIMARY KEY,
	version    INTEGER NOT NULL,
	value      BLOB    NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
