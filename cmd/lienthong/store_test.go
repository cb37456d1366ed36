package main

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway"
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

// quarantineLarge quarantines a packet above 1 MiB in the store at db,
// kept as a file, and returns its id.
func quarantineLarge(t *testing.T, db string) string {
	t.Helper()
	s, err := store.Open(t.Context(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := gateway.NewID(time.Now())
	data := bytes.Repeat([]byte("<p>Nội dung</p>"), 100_000)
	err = s.Quarantine(t.Context(), gateway.Quarantine{
		Packet: gateway.NewPacket{ID: id, Kind: gateway.KindEdoc, Data: data},
		Entry:  gateway.QuarantineEntry{MsgID: id, Reason: "signature:invalid"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestStoreCheck_Hashes: a packet file altered by one byte is reported by
// store check, unless -hashes=false.
func TestStoreCheck_Hashes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "lienthong.db")
	id := quarantineLarge(t, db)
	run(t, nil, "store", "check", "-db", db).wantCode(t, 0)
	f, err := os.OpenFile(filepath.Join(db+"-packets", id), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0}, 1000); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r := run(t, nil, "store", "check", "-db", db)
	r.wantCode(t, 1)
	r.wantStdout(t, "packet "+id+": its bytes have the SHA-256")
	run(t, nil, "store", "check", "-hashes=false", "-db", db).wantCode(t, 0)
}

// TestStoreBackup: store backup copies a store and its packet files, and
// the copy passes store check; a DEST that exists is refused, and so is a
// command without one.
func TestStoreBackup(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "lienthong.db")
	id := quarantineLarge(t, db)
	dest := filepath.Join(dir, "copy.db")
	r := run(t, nil, "store", "backup", "-db", db, dest)
	r.wantCode(t, 0)
	r.wantStdout(t, dest+": the database (", "and 1 packet files (", "sound")
	if _, err := os.Stat(filepath.Join(dest+"-packets", id)); err != nil {
		t.Errorf("the copy's packet file: %v", err)
	}
	run(t, nil, "store", "check", "-db", dest).wantCode(t, 0)

	r = run(t, nil, "store", "backup", "-db", db, dest)
	r.wantCode(t, 3)
	r.wantStderr(t, "exists already")
	run(t, nil, "store", "backup", "-db", db).wantCode(t, 2)
}
