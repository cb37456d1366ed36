package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/lienthong/lienthong/gateway"
)

// DirectoryCount returns how many directory records are kept: what the
// gateway will load at start, for sizing before it does.
func (s *Store) DirectoryCount(ctx context.Context) (int, error) {
	var n int
	err := s.view(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM directory`).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("store: count the directory records: %w", err)
	}
	return n, nil
}

// DirectoryRecords returns up to limit directory records kept whose keys
// sort after after, by key, each with its brief if it has one.
func (s *Store) DirectoryRecords(ctx context.Context, after string, limit int) ([]gateway.KeptRecord, error) {
	rs, err := s.keptRecords(ctx, `SELECT d.key, d.version, d.value, d.revision, b.brief
		FROM directory AS d LEFT JOIN directory_briefs AS b ON b.key = d.key
		WHERE d.key > ? ORDER BY d.key LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: directory records: %w", err)
	}
	return rs, nil
}

// DirectoryRecordsWithoutBrief is DirectoryRecords of the records kept
// without a brief: kept before migration 0011, or gateways' records,
// which have none.
func (s *Store) DirectoryRecordsWithoutBrief(ctx context.Context, after string, limit int) ([]gateway.KeptRecord, error) {
	// The condition reads only the key, from the primary key's index:
	// the rows of records with a brief, 4 KB each, are not read.
	rs, err := s.keptRecords(ctx, `SELECT key, version, value, revision, NULL FROM directory AS d
		WHERE key > ? AND NOT EXISTS (SELECT 1 FROM directory_briefs AS b WHERE b.key = d.key)
		ORDER BY key LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: directory records without a brief: %w", err)
	}
	return rs, nil
}

// DirectoryBriefs returns up to limit briefs of the directory records
// kept (KeptRecord with Brief and no Value) whose keys sort after after,
// by key.
func (s *Store) DirectoryBriefs(ctx context.Context, after string, limit int) ([]gateway.KeptRecord, error) {
	rs, err := s.keptRecords(ctx, `SELECT key, version, NULL, revision, brief FROM directory_briefs WHERE key > ? ORDER BY key LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: directory briefs: %w", err)
	}
	return rs, nil
}

// keptRecords runs query in a read transaction and returns its rows.
func (s *Store) keptRecords(ctx context.Context, query string, args ...any) ([]gateway.KeptRecord, error) {
	var out []gateway.KeptRecord
	err := s.view(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanKept(ctx, tx, nil, query, args...)
		return err
	})
	return out, err
}

// scanKept appends to out the rows of query, which selects a key, a
// version, a value, a revision and a brief (value and brief may be NULL).
func scanKept(ctx context.Context, tx *sql.Tx, out []gateway.KeptRecord, query string, args ...any) ([]gateway.KeptRecord, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r                 gateway.KeptRecord
			version, revision int64
		)
		if err := rows.Scan(&r.Key, &version, &r.Value, &revision, &r.Brief); err != nil {
			return out, err
		}
		r.Version, r.Revision = uint64(version), uint64(revision)
		out = append(out, r)
	}
	return out, rows.Err()
}

// directoryKeysPerQuery is how many keys one statement of
// DirectoryRecordsOf looks up. A shorter list is padded with its last key
// (a key twice in an IN list matches once), so that one text is prepared
// whatever the length, not one per length (stmtcache.go).
const directoryKeysPerQuery = 100

// DirectoryRecordsOf returns the directory records kept under keys, in
// one read transaction: those it holds, by key, each once. The API shows
// an agency's certificates from them, which the gateway's directory keeps
// only the fingerprints of.
func (s *Store) DirectoryRecordsOf(ctx context.Context, keys []string) ([]gateway.KeptRecord, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	query := `SELECT key, version, value, revision, NULL FROM directory WHERE key IN (?` +
		strings.Repeat(", ?", directoryKeysPerQuery-1) + `) ORDER BY key`
	var out []gateway.KeptRecord
	err := s.view(ctx, func(tx *sql.Tx) error {
		args := make([]any, directoryKeysPerQuery)
		for start := 0; start < len(keys); start += directoryKeysPerQuery {
			chunk := keys[start:min(start+directoryKeysPerQuery, len(keys))]
			for i := range args {
				args[i] = chunk[min(i, len(chunk)-1)]
			}
			var err error
			if out, err = scanKept(ctx, tx, out, query, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: directory records of %d keys: %w", len(keys), err)
	}
	// Chunks are each in key order; a key given twice, in two chunks,
	// came twice.
	slices.SortFunc(out, func(a, b gateway.KeptRecord) int { return strings.Compare(a.Key, b.Key) })
	return slices.CompactFunc(out, func(a, b gateway.KeptRecord) bool { return a.Key == b.Key }), nil
}

// KeepDirectoryRecords stores records in one transaction, each replacing
// the record of its key only if its version is higher, with its brief if
// it has one. A record with a Brief and no Value keeps only the brief, if
// the record it was made from is the one kept. They are a copy of signed
// records the gateway verified, not its own acts: they are not in the
// audit chain.
func (s *Store) KeepDirectoryRecords(ctx context.Context, records []gateway.KeptRecord) error {
	for _, r := range records {
		if r.Version > math.MaxInt64 || r.Revision > math.MaxInt64 {
			return fmt.Errorf("store: keep directory record %s: version %d or revision %d is out of range", r.Key, r.Version, r.Revision)
		}
		if r.Value == nil && r.Brief == nil {
			return fmt.Errorf("store: keep directory record %s: neither the record nor its brief", r.Key)
		}
	}
	now := ms(time.Now())
	err := s.update(ctx, func(tx *sql.Tx) error {
		for _, r := range records {
			if err := keepDirectoryRecord(ctx, tx, r, now); err != nil {
				return fmt.Errorf("record %s: %w", r.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: keep %d directory records: %w", len(records), err)
	}
	return nil
}

func keepDirectoryRecord(ctx context.Context, tx *sql.Tx, r gateway.KeptRecord, now int64) error {
	if r.Value != nil {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO directory (key, version, value, updated_at, revision) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET version = excluded.version, value = excluded.value, updated_at = excluded.updated_at, revision = excluded.revision
			WHERE excluded.version > directory.version OR excluded.version = directory.version AND excluded.value = directory.value AND excluded.revision > directory.revision`,
			r.Key, int64(r.Version), r.Value, now, int64(r.Revision))
		if err != nil {
			return err
		}
	}
	if r.Brief == nil {
		// What the record kept now is may have changed: a brief of
		// another version goes (the record of a version is one: a
		// different value of the same version is never kept), the
		// brief of this one takes its revision.
		if _, err := tx.ExecContext(ctx, `DELETE FROM directory_briefs
			WHERE key = ?1 AND version <> (SELECT version FROM directory WHERE key = ?1)`, r.Key); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE directory_briefs SET revision = (SELECT revision FROM directory WHERE key = ?1)
			WHERE key = ?1`, r.Key)
		return err
	}
	// The brief is kept only beside the record of its version, and takes
	// that record's revision.
	_, err := tx.ExecContext(ctx, `INSERT INTO directory_briefs (key, version, revision, brief)
		SELECT key, version, revision, ?3 FROM directory WHERE key = ?1 AND version = ?2
		ON CONFLICT (key) DO UPDATE SET version = excluded.version, revision = excluded.revision, brief = excluded.brief`,
		r.Key, int64(r.Version), r.Brief)
	return err
}

// ForgetDirectoryRecord deletes the record kept under key if it is value,
// and its brief with it (the table's foreign key).
func (s *Store) ForgetDirectoryRecord(ctx context.Context, key string, value []byte) error {
	err := s.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM directory WHERE key = ? AND value = ?`, key, value)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: forget directory record %s: %w", key, err)
	}
	return nil
}

// ForgetDirectoryBrief deletes the brief kept under key if no record of
// its version is kept (one kept meanwhile has its brief).
func (s *Store) ForgetDirectoryBrief(ctx context.Context, key string) error {
	err := s.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM directory_briefs WHERE key = ?1
			AND NOT EXISTS (SELECT 1 FROM directory AS d WHERE d.key = ?1 AND d.version = directory_briefs.version)`, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: forget directory brief %s: %w", key, err)
	}
	return nil
}
