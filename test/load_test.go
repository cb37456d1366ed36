package test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway/api"
)

// Sizes and bounds of the fault tests.
const (
	faultDocuments = 1000
	// leafDocuments is how many documents go each way while a province's
	// leaf node is cut off (cluster_test.go).
	leafDocuments = 200
	faultWorkers  = 8
	// faultAt is how many documents have got a 202 when the fault is
	// injected.
	faultAt = 300
	// submitTimeout bounds the whole submission, retries included.
	submitTimeout = 90 * time.Second
	// deliveryTimeout bounds the wait for every document to reach the
	// recipient and for every 01 to come back; it allows for the ack wait
	// (15 s) after which JetStream redelivers what a dead consumer held.
	deliveryTimeout = 120 * time.Second
)

// loadDoc is one document of a load, with the Idempotency-Key its DMS
// uses for every attempt.
type loadDoc struct {
	number     int
	packet     []byte
	documentID string
	idemKey    string
	notation   string // shared by the load: what its listings search for
}

// makeLoad writes n small documents (about 4 KB each once signed) from
// `from` to `to`, numbered 1…n under notation.
func makeLoad(t testing.TB, n int, from agency, to []agency, notation string) []loadDoc {
	t.Helper()
	date := time.Now()
	docs := make([]loadDoc, n)
	for i := range docs {
		docs[i] = loadLetter(i+1, date, from, to, notation).loadDoc(t)
	}
	return docs
}

// loadLetter is document number num of a load.
func loadLetter(num int, date time.Time, from agency, to []agency, notation string) *letter {
	n := strconv.Itoa(num)
	body := bytes.Repeat([]byte("Nội dung công văn thử nghiệm liên thông. "), 30)
	return &letter{
		From: from, To: to, Number: n, Notation: notation, Date: date,
		Subject: "V/v thử nghiệm độ bền liên thông, văn bản số " + n,
		Attachments: []envelope.Attachment{{Name: "cong-van-" + n + ".txt", ContentType: "text/plain; charset=utf-8",
			Data: append([]byte(n+"\n"), body...)}},
	}
}

// loadDoc signs the letter into a document of a load.
func (l *letter) loadDoc(t testing.TB) loadDoc {
	t.Helper()
	num, err := strconv.Atoi(l.Number)
	if err != nil {
		t.Fatalf("load letter number %q: %v", l.Number, err)
	}
	return loadDoc{number: num, packet: l.packet(t), documentID: l.documentID(),
		idemKey: "e2e-" + strings.ToLower(l.Notation) + "-" + l.Number, notation: l.Notation}
}

// loadResult is what a DMS saw while submitting a load.
type loadResult struct {
	// ids[i] is the local id the sender answered for docs[i].
	ids      []string
	accepted atomic.Int64 // documents that got a 202
	replays  atomic.Int64 // 202s that were replays of an earlier attempt
	attempts atomic.Int64 // POSTs sent
	retried  atomic.Int64 // POSTs that failed (transport error, 5xx) and were retried
	elapsed  time.Duration
	errs     []error
	mu       sync.Mutex
}

func (r *loadResult) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *loadResult) String() string {
	return fmt.Sprintf("%d accepted (%d replays) in %s, %d POSTs, %d retried",
		r.accepted.Load(), r.replays.Load(), r.elapsed.Round(time.Millisecond), r.attempts.Load(), r.retried.Load())
}

// submitLoad posts every document from workers goroutines until each has
// got a 202: a POST that fails for want of the gateway (connection refused
// or reset, a 5xx) is retried with the same Idempotency-Key. onAccepted is
// called with the number of documents accepted so far after each new 202.
// Any other answer is an error of the result.
// It gives up when ctx is done.
func submitLoad(ctx context.Context, c *apiClient, docs []loadDoc, workers int, onAccepted func(int64)) *loadResult {
	res := &loadResult{ids: make([]string, len(docs))}
	start := time.Now()
	deadline := start.Add(submitTimeout)
	work := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range work {
				if err := submitOne(ctx, c, docs[i], deadline, res, i, onAccepted); err != nil {
					res.fail(err)
				}
			}
		})
	}
	for i := range docs {
		work <- i
	}
	close(work)
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func submitOne(ctx context.Context, c *apiClient, d loadDoc, deadline time.Time, res *loadResult, i int, onAccepted func(int64)) error {
	var last string
	for attempt := 1; ; attempt++ {
		if time.Now().After(deadline) {
			return fmt.Errorf("document %d: no 202 after %d attempts by the deadline; last: %s", d.number, attempt-1, last)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("document %d: %w", d.number, ctx.Err())
		}
		res.attempts.Add(1)
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		r, err := c.submit(rctx, d.packet, d.idemKey)
		cancel()
		switch {
		case err != nil:
			last = err.Error()
		case r.Status >= 500:
			last = r.String()
		case r.Status == http.StatusAccepted:
			var a api.Accepted
			if err := json.Unmarshal(r.Body, &a); err != nil {
				return fmt.Errorf("document %d: %w", d.number, err)
			}
			if a.DocumentID != d.documentID || a.ID == "" {
				return fmt.Errorf("document %d: accepted as %+v, want documentId %s", d.number, a, d.documentID)
			}
			if a.Replay != (r.Header.Get("Idempotent-Replayed") == "true") {
				return fmt.Errorf("document %d: replay %v but Idempotent-Replayed %q", d.number, a.Replay, r.Header.Get("Idempotent-Replayed"))
			}
			if a.Replay {
				res.replays.Add(1)
			}
			res.ids[i] = a.ID
			n := res.accepted.Add(1)
			if onAccepted != nil {
				onAccepted(n)
			}
			return nil
		default:
			return fmt.Errorf("document %d, attempt %d: %s", d.number, attempt, r)
		}
		res.retried.Add(1)
		time.Sleep(100 * time.Millisecond)
	}
}

// runLoad submits docs through c and calls fault (in the test goroutine)
// once faultAt documents have got a 202; it returns when every document
// has got one.
func runLoad(t *testing.T, c *apiClient, docs []loadDoc, fault func()) *loadResult {
	t.Helper()
	reached := make(chan struct{})
	var once sync.Once
	done := make(chan *loadResult, 1)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // a test that fails during the fault stops the load
	go func() {
		done <- submitLoad(ctx, c, docs, faultWorkers, func(n int64) {
			if n >= faultAt {
				once.Do(func() { close(reached) })
			}
		})
	}()
	var res *loadResult
	select {
	case <-reached:
		fault()
		res = <-done
	case res = <-done:
		t.Fatalf("the load ended before %d documents were accepted: %v; %v", faultAt, res, errors.Join(res.errs...))
	}
	if len(res.errs) > 0 {
		t.Fatalf("submitting %d documents: %v\n%v", len(docs), res, errors.Join(res.errs...))
	}
	t.Logf("submitted: %v", res)
	return res
}

// checkExactlyOnce waits until the recipient's DMS lists as many incoming
// documents as were accepted and the sender sees 01 for all, then checks
// that each accepted document arrived exactly once: the recipient lists
// exactly those DocumentIds, each once, each with a valid signature, and
// the sender has exactly one outgoing document per DocumentId, each
// delivery arrived.
// recipientAPI is a recipient agency and its DMS's client.
type recipientAPI struct {
	to     agency
	client *apiClient
}

func checkExactlyOnce(t *testing.T, sender *apiClient, docs []loadDoc, res *loadResult, recipients ...recipientAPI) {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	want := map[string]bool{}
	for _, d := range docs {
		want[d.documentID] = true
	}
	// Only this load's documents: the agencies may have others.
	query := func(v url.Values) url.Values {
		v.Set("q", docs[0].notation)
		return v
	}
	// Every document at every recipient.
	for _, r := range recipients {
		waitFor(t, deliveryTimeout, fmt.Sprintf("%d documents at %s", len(docs), r.to.Code), func() (bool, string) {
			in, err := r.client.listAll(ctx, query(url.Values{"direction": {"in"}}))
			if err != nil {
				return false, err.Error()
			}
			return len(in) >= len(docs), fmt.Sprintf("%d listed", len(in))
		})
		t.Logf("all %d documents listed at %s %s after the last 202", len(docs), r.to.Code, time.Since(start).Round(time.Millisecond))
	}
	// Every 01 at the sender.
	waitFor(t, deliveryTimeout, "01 for every document at the sender", func() (bool, string) {
		l, err := sender.list(ctx, query(url.Values{"direction": {"out"}, "status": {"sent"}, "limit": {"1"}}))
		if err != nil {
			return false, err.Error()
		}
		if len(l.Documents) > 0 {
			return false, "still sent: " + l.Documents[0].DocumentID
		}
		return true, ""
	})
	t.Logf("01 back for all %d documents %s after the last 202", len(docs), time.Since(start).Round(time.Millisecond))

	// The sender: one outgoing document per DocumentId, the ids the DMS
	// was given, each delivered to every recipient and arrived.
	out, err := sender.listAll(ctx, query(url.Values{"direction": {"out"}}))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, id := range res.ids {
		ids[id] = true
	}
	seen := map[string]int{}
	for _, d := range out {
		seen[d.DocumentID]++
		if !ids[d.ID] {
			t.Errorf("sender: outgoing document %s (%s) is not one the DMS was given", d.ID, d.DocumentID)
		}
		arrived := map[string]bool{}
		for _, dl := range d.Deliveries {
			if dl.State == envelope.StateArrived {
				arrived[dl.Recipient] = true
			}
		}
		for _, r := range recipients {
			if !arrived[r.to.Code] || len(d.Deliveries) != len(recipients) {
				t.Errorf("sender: %s: deliveries %+v, want one to each of %d recipients, arrived", d.DocumentID, d.Deliveries, len(recipients))
				break
			}
		}
	}
	checkSet(t, "sender's outgoing documents", seen, want)
	if len(ids) != len(docs) {
		t.Errorf("the DMS was given %d distinct ids for %d documents", len(ids), len(docs))
	}

	// Each recipient, read again after the sender saw every 01, so that a
	// late duplicate would show.
	for _, r := range recipients {
		in, err := r.client.listAll(ctx, query(url.Values{"direction": {"in"}}))
		if err != nil {
			t.Fatal(err)
		}
		seen = map[string]int{}
		for _, d := range in {
			seen[d.DocumentID]++
			if d.Verdict.Outcome != "valid" || d.Agency != r.to.Code {
				t.Errorf("recipient %s: %s for %s with verdict %+v", r.to.Code, d.DocumentID, d.Agency, d.Verdict)
			}
		}
		checkSet(t, "incoming documents at "+r.to.Code, seen, want)
		t.Logf("exactly once: %d incoming documents at %s, %d distinct DocumentIds, none missing", len(in), r.to.Code, len(seen))
	}
}

// checkSet checks that seen counts each wanted DocumentId exactly once and
// nothing else.
func checkSet(t *testing.T, what string, seen map[string]int, want map[string]bool) {
	t.Helper()
	var missing, dups, extra []string
	for id := range want {
		switch n := seen[id]; {
		case n == 0:
			missing = append(missing, id)
		case n > 1:
			dups = append(dups, fmt.Sprintf("%s ×%d", id, n))
		}
	}
	for id := range seen {
		if !want[id] {
			extra = append(extra, id)
		}
	}
	if len(missing)+len(dups)+len(extra) > 0 {
		t.Errorf("%s: %d missing %s; %d duplicated %s; %d unexpected %s", what,
			len(missing), head(missing), len(dups), head(dups), len(extra), head(extra))
	}
}

func head(s []string) string {
	if len(s) > 10 {
		return fmt.Sprint(s[:10], " …")
	}
	return fmt.Sprint(s)
}
