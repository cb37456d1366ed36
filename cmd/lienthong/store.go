package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/lienthong/lienthong/gateway/store"
)

// runStore is the "store" command group: maintenance of a gateway's store.
func runStore(ctx context.Context, m *Main, args []string) error {
	return m.runGroup(ctx, "store", `Maintenance of a gateway's store, the SQLite file lienthong.db in its data
directory.`, []command{
		{"check", "check the audit chain, the references, the lifecycles and the packets' bytes", runStoreCheck},
		{"backup", "copy a store, running or not, with its packet files, and check the copy", runStoreBackup},
	}, args)
}

// runStoreCheck runs store.Store.Check on a store file and prints each
// problem it finds.
func runStoreCheck(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("store check", "store check -db FILE", `
Checks a gateway's store beyond what SQLite's "PRAGMA integrity_check" sees:
the hash-chained audit log (sequence numbers without gaps, each row linked
to the previous one, each hash matching its row); the references between
documents, deliveries, events, packets, the outbox and quarantine; the
packet files in the directory FILE-packets beside it (each packet above
1 MiB has its file there, of its size, and no file is without its packet);
each delivery's lifecycle and milestones. Unless -hashes=false, it also reads
every packet's bytes, in the database or in its file, and reports each packet
whose SHA-256 is not the one its row recorded when it was stored (a file
altered or damaged on disk): this reads the whole store, which takes about
as long as reading the data directory from disk, and beside the running
gateway its write-ahead log (FILE-wal) cannot be folded back meanwhile and
grows: on a large store, run it at a quiet hour.

It reads in one transaction, so it may run beside the running gateway, or on
a backup (one made by lienthong store backup, see deploy/README.md). It
opens the store as the gateway does: a store made by an older lienthong is
migrated first, and, unless the gateway has it open, the packet files
without a packet (a crash between a file and its row, or files copied after
the database) are removed once older than a minute (a younger one may be
a packet the running gateway is storing).

Exit status: 0 when the store is sound; 1 when it is not, each problem on
standard output; 3 when the store cannot be read.`)
	db := fs.String("db", "", "the store `file` (<gateway.dataDir>/lienthong.db)")
	hashes := fs.Bool("hashes", true, "hash every packet's bytes and compare with its row's SHA-256")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if *db == "" {
		return usageError{msg: "store check: -db is required", vi: "Cần tệp kho dữ liệu (-db).", hint: "lienthong store check -help"}
	}
	// store.Open would make a new, empty store where there is none.
	if _, err := os.Stat(*db); err != nil {
		return withVI(fmt.Errorf("store check: %w", err), "Không mở được kho dữ liệu %q", *db)
	}
	s, err := store.Open(ctx, *db, store.Options{})
	if err != nil {
		return withVI(fmt.Errorf("store check: %w", err), "Không mở được kho dữ liệu %q", *db)
	}
	start := time.Now()
	checkErr := s.CheckWith(ctx, store.CheckOptions{PacketHashes: *hashes})
	if err := s.Close(); err != nil {
		return withVI(errors.Join(checkErr, fmt.Errorf("store check: %w", err)), "Không đóng được kho dữ liệu %q", *db)
	}
	var problems interface{ Unwrap() []error }
	switch {
	case checkErr == nil:
		_, err := fmt.Fprintf(m.Stdout, "%s: sound (checked in %s)\n", *db, time.Since(start).Round(time.Millisecond))
		return err
	case errors.As(checkErr, &problems):
		found := problems.Unwrap()
		for _, p := range found {
			fmt.Fprintln(m.Stdout, p)
		}
		what := "problems"
		if len(found) == 1 {
			what = "problem"
		}
		return exitError{code: exitFailed, msg: fmt.Sprintf("%s: not sound: %d %s", *db, len(found), what),
			vi: fmt.Sprintf("Kho dữ liệu %q có %d lỗi, kể ở đầu ra chuẩn.", *db, len(found))}
	default:
		// The check could not run.
		return withVI(checkErr, "Không kiểm tra được kho dữ liệu %q", *db)
	}
}

// runStoreBackup runs store.Store.Backup: a consistent copy of a store,
// which the gateway may be using, with its packet files.
func runStoreBackup(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("store backup", "store backup -db FILE DEST", `
Copies a gateway's store to the new file DEST, and the packet files it names
to the new directory DEST-packets beside it, while the gateway goes on
running: the database is copied from one snapshot (SQLite's VACUUM INTO);
then exactly the packet files that snapshot's rows name are copied, each
compared on the way with the SHA-256 and size its row records, and synced.
Files of packets stored after the snapshot are not copied. A quarantined
packet the gateway drops (the quarantine being full) after the snapshot is
dropped from the copy too. The copy, mode 0600, is then opened and checked as
lienthong store check -hashes=false does.

DEST and DEST-packets must not exist; the directory of DEST must. What a
failed backup made is removed. While it runs, the gateway's write-ahead log
(FILE-wal) cannot be folded back and grows: on a large store, run it at a
quiet hour. Run it as the gateway's user: SQLite may create the -wal and -shm
files beside FILE, which the gateway must be able to write.

Exit status: 0 when the copy is made and sound; 1 when it was made but is not
sound (it is removed); 3 when the store cannot be read or the copy cannot be
written.`)
	db := fs.String("db", "", "the store `file` (<gateway.dataDir>/lienthong.db)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if *db == "" {
		return usageError{msg: "store backup: -db is required", vi: "Cần tệp kho dữ liệu (-db).", hint: "lienthong store backup -help"}
	}
	if fs.NArg() != 1 {
		return usageError{msg: fmt.Sprintf("store backup: want exactly one DEST, got %d arguments", fs.NArg()),
			vi: "Lệnh lienthong store backup cần đúng một tệp đích (DEST).", hint: "lienthong store backup -help"}
	}
	dest := fs.Arg(0)
	// store.Open would make a new, empty store where there is none.
	if _, err := os.Stat(*db); err != nil {
		return withVI(fmt.Errorf("store backup: %w", err), "Không mở được kho dữ liệu %q", *db)
	}
	s, err := store.Open(ctx, *db, store.Options{})
	if err != nil {
		return withVI(fmt.Errorf("store backup: %w", err), "Không mở được kho dữ liệu %q", *db)
	}
	start := time.Now()
	st, backupErr := s.Backup(ctx, dest)
	if err := s.Close(); err != nil {
		return withVI(errors.Join(backupErr, fmt.Errorf("store backup: %w", err)), "Không đóng được kho dữ liệu %q", *db)
	}
	var unsound *store.UnsoundCopyError
	switch {
	case backupErr == nil:
	case errors.As(backupErr, &unsound):
		for _, p := range unsound.Problems {
			fmt.Fprintln(m.Stdout, p)
		}
		return exitError{code: exitFailed, msg: fmt.Sprintf("store backup: the copy of %s is not sound: %d problems", *db, len(unsound.Problems)),
			vi: fmt.Sprintf("Bản sao của kho dữ liệu %q có %d lỗi, kể ở đầu ra chuẩn.", *db, len(unsound.Problems))}
	default:
		return withVI(backupErr, "Không sao lưu được kho dữ liệu %q vào %q", *db, dest)
	}
	for _, id := range st.Dropped {
		fmt.Fprintf(m.Stdout, "packet %s: dropped from the quarantine while it was copied\n", id)
	}
	_, err = fmt.Fprintf(m.Stdout, "%s: the database (%d bytes) and %d packet files (%d bytes), sound (in %s)\n",
		dest, st.DatabaseBytes, st.Files, st.FileBytes, time.Since(start).Round(time.Millisecond))
	return err
}
