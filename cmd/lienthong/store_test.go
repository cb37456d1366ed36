package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/gateway/store"
)

// TestStoreCheck: a sound store passes; a store whose audit chain was
// tampered with fails with the problem named; a missing file is an error
// and is not created.
func TestStoreCheck(t *testing.T) {
	db := filepath.Join(t.TempDir(), "lienthong.db")
	s, err := store.Open(t.Context(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "store", "check", "-db", db)
	r.wantCode(t, 0)
	if !strings.HasPrefix(r.stdout, db+": sound") {
		t.Errorf("store check of a sound store printed %q", r.stdout)
	}

	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO audit (seq, at, action, prev_hash, hash) VALUES (1, 0, 'forged', '', 'not-a-hash')`); err != nil {
		t.Fatal(err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	r = run(t, nil, "store", "check", "-db", db)
	r.wantCode(t, 1)
	r.wantStderr(t, db+": not sound: 2 problems")
	if !strings.Contains(r.stdout, "audit row 1") || !strings.Contains(r.stdout, "the row was altered") {
		t.Errorf("store check of a forged audit row printed:\n%s", r.stdout)
	}

	missing := filepath.Join(t.TempDir(), "none.db")
	run(t, nil, "store", "check", "-db", missing).wantCode(t, 3)
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("store check made %s: %v", missing, err)
	}
	run(t, nil, "store", "check").wantCode(t, 2)
}
