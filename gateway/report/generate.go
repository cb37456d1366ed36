package report

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/lienthong/lienthong/gateway"
)

// maxRefusalsDetailed bounds how many refusals get their document's
// number and subject looked up; the rest keep their id.
const maxRefusalsDetailed = 1000

// maxParts bounds how many parts of the quarter Generate reads at once,
// each holding a connection of the store's read pool until it is read:
// two leave at least half the pool (four connections, or one per CPU)
// to the API and the dispatcher meanwhile.
const maxParts = 2

// Generate computes the report of in.Agency for in.Quarter from the
// store's rows (a gateway.Store, or the running gateway's
// gateway.ReportRowReader role).
//
// The quarter is read in as many parts as there are CPUs to read them
// (up to maxParts), consecutive spans of time, each by its own Builder
// on a connection of the store's read pool, and the Builders are merged:
// a million documents are mostly SQLite's work, which one connection does
// on one core. Each part is read in its own snapshot, as the refusals'
// documents are read after the rows: a status applied while the report
// reads is counted if its document's part is read after it. A document
// is in one part, counted once.
func Generate(ctx context.Context, st gateway.ReportRowReader, in Input) (*Report, error) {
	b, err := read(ctx, st, in, min(runtime.GOMAXPROCS(0), maxParts))
	if err != nil {
		return nil, err
	}
	rep := b.Report()
	for i := range rep.Beyond.Refusals[:min(len(rep.Beyond.Refusals), maxRefusalsDetailed)] {
		f := &rep.Beyond.Refusals[i]
		d, err := st.Document(ctx, f.Document)
		if errors.Is(err, gateway.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("report: read refused document %s: %w", f.Document, err)
		}
		f.Number, f.Subject = d.Number, d.Subject
		if d.Notation != "" {
			f.Number += "/" + d.Notation
		}
	}
	return rep, nil
}

// read gives the rows of the quarter to Builders of in, parts of them at
// once, and returns the first Builder with the others merged into it.
func read(ctx context.Context, st gateway.ReportRowReader, in Input, parts int) (*Builder, error) {
	builders := make([]*Builder, max(parts, 1))
	for i := range builders {
		b, err := NewBuilder(in)
		if err != nil {
			return nil, err
		}
		builders[i] = b
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error // the first part's to fail: the others' may be that it cancelled them
	)
	start, end := in.Quarter.Start(), in.Quarter.End()
	span := end.Sub(start) / time.Duration(len(builders))
	for i, b := range builders {
		q := gateway.ReportQuery{Under: b.in.Agency.Code, Since: start.Add(time.Duration(i) * span), Until: end}
		if i < len(builders)-1 {
			q.Until = start.Add(time.Duration(i+1) * span)
		}
		wg.Go(func() {
			err := st.ReportRows(ctx, q, func(r *gateway.ReportRow) error {
				b.Add(r)
				return nil
			})
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				cancel()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("report: read the store: %w", firstErr)
	}
	b := builders[0]
	for _, o := range builders[1:] {
		b.merge(o)
	}
	return b, nil
}
