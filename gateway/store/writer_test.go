package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/store"
)

// insertRow inserts a packet row of its own, id, in an update's
// transaction: the tests of the writer tell by it whether an update was
// applied. The packet is one byte, 0, with its SHA-256, for Check.
func insertRow(ctx context.Context, tx *sql.Tx, id string) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO packets (id, kind, sha256, size, data, created_at) VALUES (?, 'edoc', ?, 1, x'00', 0)`,
		id, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
	return err
}

// committedRows returns which of ids are in the store at path, read
// through a connection of its own.
func committedRows(tb testing.TB, path string, ids ...string) map[string]bool {
	tb.Helper()
	db := rawDB(tb, path)
	in := make(map[string]bool, len(ids))
	for _, id := range ids {
		in[id] = count(tb, db, `SELECT count(*) FROM packets WHERE id = ?`, id) == 1
	}
	return in
}

// holdWriter runs an update that holds the writer until release is
// called, so that the updates after it queue; it returns once the writer
// runs it. The update inserts the row id once released. release returns
// the update's result; the test's end calls it if the test did not.
func holdWriter(t *testing.T, s *store.Store, id string) (release func() error) {
	t.Helper()
	running, proceed := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- store.Update(s, context.Background(), func(tx *sql.Tx) error {
			close(running)
			<-proceed
			return insertRow(context.Background(), tx, id)
		})
	}()
	<-running
	release = sync.OnceValue(func() error {
		close(proceed)
		return <-done
	})
	t.Cleanup(func() { release() })
	return release
}

// within waits for ch for up to 10 s, and fails the test if nothing
// comes: a wait that a working writer ends at once.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still waiting after 10 s", what)
		panic("unreachable")
	}
}

// TestWriter_CancelQueued: a caller whose context ends while its update
// is queued behind a batch gets ctx.Err() at once, without waiting for
// that batch, and its update is never applied.
func TestWriter_CancelQueued(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	held := gateway.NewID(t0)
	release := holdWriter(t, s, held)

	ctx, cancel := context.WithCancel(t.Context())
	id := gateway.NewID(t0)
	ran := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- store.Update(s, ctx, func(tx *sql.Tx) error {
			ran <- struct{}{}
			return insertRow(ctx, tx, id)
		})
	}()
	waitPending(t, s, 1)
	cancel()
	if err := within(t, done, "Update whose context ended while queued"); !errors.Is(err, context.Canceled) {
		t.Errorf("Update: got %v, want context.Canceled", err)
	}
	if n := store.Pending(s); n != 0 {
		t.Errorf("%d updates queued after the cancelled one left, want 0", n)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	// An update after it: the writer went on, and has run the batch the
	// cancelled update would have been part of.
	after := gateway.NewID(t0)
	if err := store.Update(s, t.Context(), func(tx *sql.Tx) error { return insertRow(t.Context(), tx, after) }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
		t.Error("the cancelled update ran")
	default:
	}
	got := committedRows(t, path, held, id, after)
	if !got[held] || got[id] || !got[after] {
		t.Errorf("committed: %v; want the held and the later update's rows, not the cancelled one's", got)
	}
}

// TestWriter_CancelTaken: a caller whose context ends once the writer has
// taken its update waits for the update's outcome: here fn's statement,
// run after the end of the context, was applied, and Update says so.
func TestWriter_CancelTaken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	ctx, cancel := context.WithCancel(t.Context())
	id := gateway.NewID(t0)
	running, proceed := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- store.Update(s, ctx, func(tx *sql.Tx) error {
			close(running)
			<-proceed
			// A statement that does not look at the ended context.
			return insertRow(context.Background(), tx, id)
		})
	}()
	<-running
	cancel()
	close(proceed)
	if err := within(t, done, "Update"); err != nil {
		t.Errorf("Update whose context ended while fn ran: got %v, want nil (its row was committed)", err)
	}
	if got := committedRows(t, path, id); !got[id] {
		t.Error("the row is not committed")
	}
}

// TestWriter_Close: Close fails the updates still queued at once, with
// ErrClosed, without applying them; it waits for the batch in progress,
// which is committed and answered before Close returns; nothing
// committed is lost.
func TestWriter_Close(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s, err := store.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The update in progress, queued without a caller's goroutine: its
	// result is on heldDone as soon as the writer sends it.
	held := gateway.NewID(t0)
	running, proceed := make(chan struct{}), make(chan struct{})
	heldDone, err := store.Enqueue(s, t.Context(), func(tx *sql.Tx) error {
		close(running)
		<-proceed
		return insertRow(t.Context(), tx, held)
	})
	if err != nil {
		t.Fatal(err)
	}
	<-running
	release := sync.OnceFunc(func() { close(proceed) })
	t.Cleanup(release)
	queued := make([]string, 3)
	results := make([]chan error, len(queued))
	for i := range queued {
		queued[i], results[i] = gateway.NewID(t0), make(chan error, 1)
		go func() {
			results[i] <- store.Update(s, t.Context(), func(tx *sql.Tx) error { return insertRow(t.Context(), tx, queued[i]) })
		}()
		waitPending(t, s, i+1)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	for i := range queued {
		if err := within(t, results[i], fmt.Sprintf("queued update %d after Close began", i)); !errors.Is(err, gateway.ErrClosed) {
			t.Errorf("queued update %d: got %v, want ErrClosed", i, err)
		}
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while the writer ran a batch", err)
	default:
	}
	release()
	if err := within(t, closed, "Close"); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-heldDone:
		if err != nil {
			t.Errorf("the update in progress at Close: %v, want it committed", err)
		}
	default:
		t.Error("Close returned before the update in progress was answered")
	}
	if err := store.Update(s, t.Context(), func(tx *sql.Tx) error { return nil }); !errors.Is(err, gateway.ErrClosed) {
		t.Errorf("Update after Close: got %v, want ErrClosed", err)
	}

	mustOpenStoreAt(t, path) // and Check when the test ends
	got := committedRows(t, path, append([]string{held}, queued...)...)
	for id, in := range got {
		if in != (id == held) {
			t.Errorf("after Close and Open: %v; want the batch in progress's row alone", got)
			break
		}
	}
}

// TestWriter_BatchCap: the updates queued behind a batch are committed
// in batches of at most Options.MaxBatch, in the order they queued.
func TestWriter_BatchCap(t *testing.T) {
	const maxBatch, queued = 3, 8
	s := mustOpenStoreWith(t, filepath.Join(t.TempDir(), "lienthong.db"), store.Options{MaxBatch: maxBatch})
	release := holdWriter(t, s, gateway.NewID(t0))
	batchesBefore, _ := store.Batches(s)

	// The transaction each update ran in, by the order they queued.
	txs := make([]*sql.Tx, queued)
	var wg sync.WaitGroup
	for i := range queued {
		wg.Go(func() {
			err := store.Update(s, t.Context(), func(tx *sql.Tx) error {
				txs[i] = tx // the writer runs one update at a time
				return insertRow(t.Context(), tx, gateway.NewID(t0))
			})
			if err != nil {
				t.Error(err)
			}
		})
		waitPending(t, s, i+1)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	var sizes []int
	for i, tx := range txs {
		if i == 0 || tx != txs[i-1] {
			sizes = append(sizes, 0)
		}
		sizes[len(sizes)-1]++
	}
	if want := []int{3, 3, 2}; !equal(sizes, want) {
		t.Errorf("batches of %v, want %v", sizes, want)
	}
	// The held batch was counted when the writer took it.
	if batches, _ := store.Batches(s); batches-batchesBefore != 3 {
		t.Errorf("%d batches committed after the held one, want 3", batches-batchesBefore)
	}
}

// TestWriter_FailuresInABatch: in one batch, an update that fails, one
// that panics and one whose context ended before its turn are undone
// alone (each runs in its own SAVEPOINT) and their callers get their
// errors (the panic again, in the caller); the others are committed.
func TestWriter_FailuresInABatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	held := gateway.NewID(t0)
	release := holdWriter(t, s, held)

	errFn := errors.New("refused")
	victim, cancelVictim := context.WithCancel(t.Context())
	defer cancelVictim()
	type update struct {
		ctx  context.Context
		fn   func(ctx context.Context, tx *sql.Tx, id string) error
		want error // "panic": panicked
	}
	errPanic := errors.New("panic")
	updates := []update{
		{t.Context(), func(ctx context.Context, tx *sql.Tx, id string) error {
			// The last update of the batch is taken: its context ends
			// before its turn.
			cancelVictim()
			return insertRow(ctx, tx, id)
		}, nil},
		{t.Context(), func(ctx context.Context, tx *sql.Tx, id string) error {
			if err := insertRow(ctx, tx, id); err != nil {
				return err
			}
			return errFn
		}, errFn},
		{t.Context(), func(ctx context.Context, tx *sql.Tx, id string) error {
			if err := insertRow(ctx, tx, id); err != nil {
				return err
			}
			panic("boom")
		}, errPanic},
		{t.Context(), insertRow, nil},
		{victim, insertRow, context.Canceled},
	}
	ids := make([]string, len(updates))
	txs := make([]*sql.Tx, len(updates))
	results := make([]chan error, len(updates))
	for i, u := range updates {
		ids[i], results[i] = gateway.NewID(t0), make(chan error, 1)
		go func() {
			defer func() {
				if r := recover(); r != nil {
					// fn's panic, with the writer's stack where fn raised it.
					if msg := fmt.Sprint(r); !strings.Contains(msg, "boom") || !strings.Contains(msg, "store.callUpdate(") {
						t.Errorf("update %d: recovered %v, want fn's panic and the writer's stack", i, r)
					}
					results[i] <- errPanic
				}
			}()
			results[i] <- store.Update(s, u.ctx, func(tx *sql.Tx) error {
				txs[i] = tx
				return u.fn(u.ctx, tx, ids[i])
			})
		}()
		waitPending(t, s, i+1)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	for i, u := range updates {
		if err := within(t, results[i], fmt.Sprintf("update %d", i)); !errors.Is(err, u.want) || (u.want == nil) != (err == nil) {
			t.Errorf("update %d: got %v, want %v", i, err, u.want)
		}
	}
	for i, tx := range txs[:len(txs)-1] {
		if tx != txs[0] {
			t.Errorf("update %d ran in a transaction of its own, want one batch", i)
		}
	}
	if txs[len(txs)-1] != nil {
		t.Error("the update whose context ended before its turn ran")
	}
	got := committedRows(t, path, ids...)
	for i, u := range updates {
		if got[ids[i]] != (u.want == nil) {
			t.Errorf("update %d (want %v): committed %v", i, u.want, got[ids[i]])
		}
	}
}

// TestWriter_Concurrent: updates from many goroutines, some of whose
// contexts end at random moments, queued, running or done: an update is
// committed exactly when its caller got no error, and no batch is larger
// than Options.MaxBatch. With -race, the writer's and its callers' memory
// is shared soundly.
func TestWriter_Concurrent(t *testing.T) {
	const writers, each, maxBatch = 8, 25, 4
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreWith(t, path, store.Options{MaxBatch: maxBatch})

	type outcome struct {
		id  string
		err error
	}
	outcomes := make(chan outcome, writers*each)
	var (
		mu      sync.Mutex
		inBatch = map[*sql.Tx]int{}
	)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for i := range each {
				ctx, cancel := t.Context(), context.CancelFunc(func() {})
				if i%3 == 0 {
					ctx, cancel = context.WithTimeout(t.Context(), time.Duration(rand.IntN(2000))*time.Microsecond)
				}
				id := gateway.NewID(t0)
				err := store.Update(s, ctx, func(tx *sql.Tx) error {
					mu.Lock()
					inBatch[tx]++
					mu.Unlock()
					return insertRow(ctx, tx, id)
				})
				cancel()
				outcomes <- outcome{id, err}
			}
		})
	}
	wg.Wait()
	close(outcomes)
	var ids []string
	errs := map[string]error{}
	ended := 0
	for o := range outcomes {
		ids = append(ids, o.id)
		errs[o.id] = o.err
		if o.err != nil {
			if !errors.Is(o.err, context.DeadlineExceeded) {
				t.Errorf("update %s: %v", o.id, o.err)
			}
			ended++
		}
	}
	for id, in := range committedRows(t, path, ids...) {
		if in != (errs[id] == nil) {
			t.Errorf("update %s: error %v, committed %v", id, errs[id], in)
		}
	}
	largest := 0
	for _, n := range inBatch {
		largest = max(largest, n)
	}
	if largest > maxBatch {
		t.Errorf("a batch of %d updates, want at most %d", largest, maxBatch)
	}
	batches, updates := store.Batches(s)
	t.Logf("%d updates, %d ended by their contexts; %d batches of %.1f updates on average, the largest %d",
		len(ids), ended, batches, float64(updates)/float64(batches), largest)
}

// TestWriter_CommitFails: a batch whose COMMIT fails (here a deferred
// foreign key, which only COMMIT checks) fails whole: each of its updates
// gets the commit's error, none of them is committed, and the writer's
// connection is left outside a transaction: the next update is.
func TestWriter_CommitFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	release := holdWriter(t, s, gateway.NewID(t0))

	ids := []string{gateway.NewID(t0), gateway.NewID(t0), gateway.NewID(t0)}
	fns := []func(tx *sql.Tx) error{
		func(tx *sql.Tx) error { return insertRow(t.Context(), tx, ids[0]) },
		func(tx *sql.Tx) error {
			if err := insertRow(t.Context(), tx, ids[1]); err != nil {
				return err
			}
			if _, err := tx.Exec(`PRAGMA defer_foreign_keys = ON`); err != nil {
				return err
			}
			// A delivery of a document that does not exist: the
			// statement succeeds, the COMMIT fails.
			_, err := tx.Exec(`INSERT INTO deliveries (document, recipient, transport, state, before_recall, seen, updated_at)
				VALUES ('none', 'none', 'queued', '', '', '', 0)`)
			return err
		},
		func(tx *sql.Tx) error { return insertRow(t.Context(), tx, ids[2]) },
	}
	results := make([]chan error, len(fns))
	for i, fn := range fns {
		results[i] = make(chan error, 1)
		go func() { results[i] <- store.Update(s, t.Context(), fn) }()
		waitPending(t, s, i+1)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	for i := range fns {
		if err := within(t, results[i], fmt.Sprintf("update %d", i)); err == nil || !store.IsCommitError(err) {
			t.Errorf("update %d: got %v, want the commit's error", i, err)
		}
	}
	for id, in := range committedRows(t, path, ids...) {
		if in {
			t.Errorf("the row %s of the batch whose commit failed is committed", id)
		}
	}
	after := gateway.NewID(t0)
	if err := store.Update(s, t.Context(), func(tx *sql.Tx) error { return insertRow(t.Context(), tx, after) }); err != nil {
		t.Fatalf("the update after the failed commit: %v", err)
	}
	if got := committedRows(t, path, after); !got[after] {
		t.Error("the update after the failed commit is not committed")
	}
}

// TestWriter_RollbackFails: an update fails and its ROLLBACK fails too
// (refused here by an authorizer), leaving the connection inside the
// transaction: the writer discards the connection, and the next update
// runs on a new one rather than fail to BEGIN for ever.
func TestWriter_RollbackFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpenStoreAt(t, path)
	if err := store.DenyRollbackOnce(s, t.Context()); err != nil {
		t.Fatal(err)
	}
	errFn := errors.New("refused")
	failed := gateway.NewID(t0)
	if err := store.Update(s, t.Context(), func(tx *sql.Tx) error {
		if err := insertRow(t.Context(), tx, failed); err != nil {
			return err
		}
		return errFn
	}); !errors.Is(err, errFn) {
		t.Fatalf("the failing update: got %v, want fn's error", err)
	}
	for i := range 2 {
		id := gateway.NewID(t0)
		if err := store.Update(s, t.Context(), func(tx *sql.Tx) error { return insertRow(t.Context(), tx, id) }); err != nil {
			t.Fatalf("update %d after the failed rollback: %v", i, err)
		}
		if got := committedRows(t, path, id, failed); !got[id] || got[failed] {
			t.Errorf("update %d after the failed rollback: committed %v, want its row alone", i, got)
		}
	}
}

// writerGoroutines counts the writer goroutines of the process's stores,
// by the goroutine that started them: a goroutine not yet run may show
// no frame of its function.
func writerGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "created by github.com/lienthong/lienthong/gateway/store.(*Store).startWriter")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestWriter_Stops: the writer goroutine is gone once Close returned, and
// once an Open that failed after starting it returned.
func TestWriter_Stops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s, err := store.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !store.WriterStopped(s) {
		t.Error("the writer goroutine runs after Close")
	}

	db := rawDB(t, path)
	if _, err := db.Exec(`PRAGMA user_version = 9999`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := writerGoroutines()
	if _, err := store.Open(t.Context(), path, store.Options{}); err == nil {
		t.Fatal("Open of a schema too new: no error")
	}
	// A writer returning may be on its stack for a moment still.
	deadline := time.Now().Add(5 * time.Second)
	for writerGoroutines() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d writer goroutines after the Open that failed, %d before", writerGoroutines(), before)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStore_CloseTwice: a Close while another is waiting for the writer
// waits for it: once it returned, the store is closed, and the file can
// be opened again (the packet directory's lock is released).
func TestStore_CloseTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s, err := store.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	release := holdWriter(t, s, gateway.NewID(t0))
	first, second := make(chan error, 1), make(chan error, 1)
	go func() { first <- s.Close() }()
	for !store.Closing(s) {
		time.Sleep(time.Millisecond)
	}
	go func() { second <- s.Close() }()
	select {
	case err := <-second:
		t.Fatalf("the second Close returned (%v) while the first waited for the writer", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if err := within(t, second, "the second Close"); err != nil {
		t.Errorf("the second Close: %v", err)
	}
	mustOpenStoreAt(t, path)
	if err := within(t, first, "the first Close"); err != nil {
		t.Errorf("the first Close: %v", err)
	}
}

// TestWriter_Goexit: an update's fn that calls runtime.Goexit (t.FailNow
// on the writer goroutine) ends the process with a panic that says so,
// rather than leave the writer gone and its callers waiting for ever. It
// runs in a process of its own.
func TestWriter_Goexit(t *testing.T) {
	if os.Getenv("LIENTHONG_WRITER_GOEXIT") == "1" {
		s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "lienthong.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		go store.Update(s, context.Background(), func(tx *sql.Tx) error {
			runtime.Goexit()
			return nil
		})
		time.Sleep(10 * time.Second)
		return // the process was to end
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriter_Goexit$", "-test.count=1")
	cmd.Env = append(os.Environ(), "LIENTHONG_WRITER_GOEXIT=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the process whose update called runtime.Goexit: %v, want it to fail\n%s", err, out)
	}
	if !strings.Contains(string(out), "runtime.Goexit") {
		t.Errorf("the process whose update called runtime.Goexit failed with:\n%s\nwant a panic naming runtime.Goexit", out)
	}
}
