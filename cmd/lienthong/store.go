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
		{"check", "check the audit chain, the references and the lifecycles", runStoreCheck},
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
as long as reading the data directory from disk.

It reads in one transaction, so it may run beside the running gateway, or on
a backup (a VACUUM INTO copy and its packet files, see deploy/README.md). It
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
