package store_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway/store"
)

// TestStore_BackgroundCheckpoint: commits that take the log past SQLite's
// own threshold (1,000 pages) but not past the writer's backstop are
// copied into the database file all the same, by the background
// checkpoints, not by a commit: the database file grows to hold them
// while the writer goes on. Without the background checkpoints the file
// stays as it was until the log reaches the backstop's 8,192 pages.
func TestStore_BackgroundCheckpoint(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "lienthong.db")
	var failed atomic.Int64
	s, err := store.Open(ctx, path, store.Options{OnCheckpointError: func(err error) {
		t.Errorf("checkpoint: %v", err)
		failed.Add(1)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	size := func() int64 {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	const blob = 512 << 10 // 128 pages a commit, 1,536 in all
	if err := store.Update(s, ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE checkpoint_test (b BLOB)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Whatever the migrations left in the log is checkpointed first.
	time.Sleep(500 * time.Millisecond)
	before := size()
	for range 12 {
		if err := store.Update(s, ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO checkpoint_test (b) VALUES (randomblob(?))`, blob)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for size() < before+12*blob {
		if time.Now().After(deadline) {
			t.Fatalf("the database file is %d bytes 10 s after 6 MiB were committed (%d before): the log was not checkpointed", size(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d checkpoints failed", n)
	}
}
