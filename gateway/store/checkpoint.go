package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Checkpoints: SQLite in WAL mode appends every commit to the log (the
// -wal file) and copies the log's pages back into the database file at a
// checkpoint. Left to itself it checkpoints in the commit that takes the
// log past 1,000 pages, on the writer connection, before that commit
// returns: every hundred commits or so one of them also writes some 4 MB
// into the database file and syncs it, and every update of its batch, and
// every update queued behind it, waits for that. Those are the slowest
// documents a DMS sees (the 99th percentile of lienthong bench's latency
// run).
//
// So the store checkpoints from a connection of its own, in the
// background, a short while after commits (checkpointInterval): PASSIVE
// checkpoints, which copy what no reader still needs and never wait for
// the writer or the readers, nor make them wait. The writer keeps
// SQLite's automatic checkpoint only as a backstop, at
// writerAutoCheckpoint pages, should the background fall behind (it
// cannot copy pages a long read still needs; it fails). The log's pages
// are durable when their commit returns (synchronous=FULL syncs the log);
// the checkpoint only moves them, so nothing committed depends on it.
const (
	// checkpointInterval is the least time between two checkpoints: about
	// as many pages as SQLite's own 1,000 at a busy gateway's rate, and a
	// log that stays small.
	checkpointInterval = 250 * time.Millisecond
	// writerAutoCheckpoint is the log's size in pages (of 4 KiB) at which
	// the writer checkpoints itself: 32 MiB, reached only when the
	// background cannot keep up.
	writerAutoCheckpoint = 8192
)

// checkpointer runs PASSIVE checkpoints on its own connection after
// commits (wake).
type checkpointer struct {
	db   *sql.DB
	wake chan struct{}
	stop chan struct{}
	done sync.WaitGroup

	// onError is told of a checkpoint that failed (the next one tries
	// again; the writer's own checkpoint is the backstop).
	onError func(error)
	// runs and failures count the checkpoints tried and failed.
	runs, failures atomic.Int64
}

// startCheckpointer opens the connection and starts the background
// checkpoints. Its statements are not counted with the use cases' (the
// connection's counts are nil): they run when the timer says.
func startCheckpointer(path, busy string, onError func(error)) (*checkpointer, error) {
	c, err := openConnector(dsn(path, url.Values{
		"_busy_timeout": {busy},
		"_dqs":          {"0"},
		// It never commits: no automatic checkpoint of its own.
		"_pragma": {"wal_autocheckpoint(0)"},
	}), nil, false)
	if err != nil {
		return nil, fmt.Errorf("store: open the checkpoint connection: %w", err)
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open the checkpoint connection: %w", err)
	}
	cp := &checkpointer{db: db, wake: make(chan struct{}, 1), stop: make(chan struct{}), onError: onError}
	cp.done.Add(1)
	go cp.loop()
	return cp, nil
}

// committed tells the checkpointer that the log grew; it never blocks.
func (cp *checkpointer) committed() {
	select {
	case cp.wake <- struct{}{}:
	default:
	}
}

func (cp *checkpointer) loop() {
	defer cp.done.Done()
	for {
		select {
		case <-cp.stop:
			return
		case <-cp.wake:
		}
		// Let the commits of the next interval gather first: one
		// checkpoint for them all.
		select {
		case <-cp.stop:
			return
		case <-time.After(checkpointInterval):
		}
		if _, err := cp.checkpoint(context.Background()); err != nil {
			cp.failures.Add(1)
			if cp.onError != nil {
				cp.onError(err)
			}
		}
	}
}

// checkpoint runs one PASSIVE checkpoint and returns the pages the log
// still holds that are not yet in the database file.
func (cp *checkpointer) checkpoint(ctx context.Context) (left int, err error) {
	cp.runs.Add(1)
	var busy, log, done int
	if err := cp.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done); err != nil {
		return 0, fmt.Errorf("store: checkpoint: %w", err)
	}
	if log < 0 || done < 0 { // not in WAL mode: nothing to copy
		return 0, nil
	}
	return log - done, nil
}

// close stops the checkpoints and closes the connection. The writer's
// connection, closed last, checkpoints what is left.
func (cp *checkpointer) close() error {
	close(cp.stop)
	cp.done.Wait()
	return cp.db.Close()
}
