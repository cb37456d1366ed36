package testkit

import (
	"context"
	"time"

	"github.com/lienthong/lienthong/gateway"
)

// Store wraps a gateway.Store and injects Faults into its methods, by
// their names ("ReceiveDocument", "MarkSent" …): a call given a fault
// returns its error without reaching the store, so that nothing of it is
// stored. Every other call, and every call while Faults is nil, goes to
// the wrapped store.
type Store struct {
	gateway.Store
	Faults *Faults
}

var _ gateway.Store = (*Store)(nil)

// Each method below counts the call, injects its fault or calls through.

// DirectoryRecords is gateway.Store's, unless Faults says otherwise.
func (w *Store) DirectoryRecords(ctx context.Context, after string, limit int) ([]gateway.KeptRecord, error) {
	if err := w.Faults.enter(ctx, "DirectoryRecords"); err != nil {
		return nil, err
	}
	return w.Store.DirectoryRecords(ctx, after, limit)
}

// DirectoryBriefs is gateway.Store's, unless Faults says otherwise.
func (w *Store) DirectoryBriefs(ctx context.Context, after string, limit int) ([]gateway.KeptRecord, error) {
	if err := w.Faults.enter(ctx, "DirectoryBriefs"); err != nil {
		return nil, err
	}
	return w.Store.DirectoryBriefs(ctx, after, limit)
}

// DirectoryRecordsWithoutBrief is gateway.Store's, unless Faults says otherwise.
func (w *Store) DirectoryRecordsWithoutBrief(ctx context.Context, after string, limit int) ([]gateway.KeptRecord, error) {
	if err := w.Faults.enter(ctx, "DirectoryRecordsWithoutBrief"); err != nil {
		return nil, err
	}
	return w.Store.DirectoryRecordsWithoutBrief(ctx, after, limit)
}

// DirectoryRecordsOf is gateway.Store's, unless Faults says otherwise.
func (w *Store) DirectoryRecordsOf(ctx context.Context, keys []string) ([]gateway.KeptRecord, error) {
	if err := w.Faults.enter(ctx, "DirectoryRecordsOf"); err != nil {
		return nil, err
	}
	return w.Store.DirectoryRecordsOf(ctx, keys)
}

// ForgetDirectoryBrief is gateway.Store's, unless Faults says otherwise.
func (w *Store) ForgetDirectoryBrief(ctx context.Context, key string) error {
	if err := w.Faults.enter(ctx, "ForgetDirectoryBrief"); err != nil {
		return err
	}
	return w.Store.ForgetDirectoryBrief(ctx, key)
}

// KeepDirectoryRecords is gateway.Store's, unless Faults says otherwise.
func (w *Store) KeepDirectoryRecords(ctx context.Context, records []gateway.KeptRecord) error {
	if err := w.Faults.enter(ctx, "KeepDirectoryRecords"); err != nil {
		return err
	}
	return w.Store.KeepDirectoryRecords(ctx, records)
}

// ForgetDirectoryRecord is gateway.Store's, unless Faults says otherwise.
func (w *Store) ForgetDirectoryRecord(ctx context.Context, key string, value []byte) error {
	if err := w.Faults.enter(ctx, "ForgetDirectoryRecord"); err != nil {
		return err
	}
	return w.Store.ForgetDirectoryRecord(ctx, key, value)
}

// AcceptDocument is gateway.Store's, unless Faults says otherwise.
func (w *Store) AcceptDocument(ctx context.Context, a gateway.AcceptDocument) (*gateway.Document, bool, error) {
	if err := w.Faults.enter(ctx, "AcceptDocument"); err != nil {
		return nil, false, err
	}
	return w.Store.AcceptDocument(ctx, a)
}

// DueOutbox is gateway.Store's, unless Faults says otherwise.
func (w *Store) DueOutbox(ctx context.Context, now time.Time, limit int) ([]gateway.OutboxItem, error) {
	if err := w.Faults.enter(ctx, "DueOutbox"); err != nil {
		return nil, err
	}
	return w.Store.DueOutbox(ctx, now, limit)
}

// MarkSent is gateway.Store's, unless Faults says otherwise.
func (w *Store) MarkSent(ctx context.Context, items []gateway.OutboxItem, at time.Time) (int, error) {
	if err := w.Faults.enter(ctx, "MarkSent"); err != nil {
		return 0, err
	}
	return w.Store.MarkSent(ctx, items, at)
}

// Postpone is gateway.Store's, unless Faults says otherwise.
func (w *Store) Postpone(ctx context.Context, itemID int64, next time.Time, cause string) error {
	if err := w.Faults.enter(ctx, "Postpone"); err != nil {
		return err
	}
	return w.Store.Postpone(ctx, itemID, next, cause)
}

// Packet is gateway.Store's, unless Faults says otherwise.
func (w *Store) Packet(ctx context.Context, id string) (*gateway.Packet, error) {
	if err := w.Faults.enter(ctx, "Packet"); err != nil {
		return nil, err
	}
	return w.Store.Packet(ctx, id)
}

// ReceiveDocument is gateway.Store's, unless Faults says otherwise.
func (w *Store) ReceiveDocument(ctx context.Context, r gateway.ReceiveDocument) (*gateway.Document, bool, error) {
	if err := w.Faults.enter(ctx, "ReceiveDocument"); err != nil {
		return nil, false, err
	}
	return w.Store.ReceiveDocument(ctx, r)
}

// Quarantine is gateway.Store's, unless Faults says otherwise.
func (w *Store) Quarantine(ctx context.Context, q gateway.Quarantine) error {
	if err := w.Faults.enter(ctx, "Quarantine"); err != nil {
		return err
	}
	return w.Store.Quarantine(ctx, q)
}

// ApplyStatus is gateway.Store's, unless Faults says otherwise.
func (w *Store) ApplyStatus(ctx context.Context, s gateway.ApplyStatus) (gateway.StatusResult, error) {
	if err := w.Faults.enter(ctx, "ApplyStatus"); err != nil {
		return gateway.StatusResult{}, err
	}
	return w.Store.ApplyStatus(ctx, s)
}

// EmitStatus is gateway.Store's, unless Faults says otherwise.
func (w *Store) EmitStatus(ctx context.Context, e gateway.EmitStatus) error {
	if err := w.Faults.enter(ctx, "EmitStatus"); err != nil {
		return err
	}
	return w.Store.EmitStatus(ctx, e)
}

// Document is gateway.Store's, unless Faults says otherwise.
func (w *Store) Document(ctx context.Context, id string) (*gateway.DocumentDetail, error) {
	if err := w.Faults.enter(ctx, "Document"); err != nil {
		return nil, err
	}
	return w.Store.Document(ctx, id)
}

// DocumentSummary is gateway.Store's, unless Faults says otherwise.
func (w *Store) DocumentSummary(ctx context.Context, id string) (*gateway.DocumentSummary, error) {
	if err := w.Faults.enter(ctx, "DocumentSummary"); err != nil {
		return nil, err
	}
	return w.Store.DocumentSummary(ctx, id)
}

// Documents is gateway.Store's, unless Faults says otherwise.
func (w *Store) Documents(ctx context.Context, q gateway.DocumentQuery) (gateway.DocumentPage, error) {
	if err := w.Faults.enter(ctx, "Documents"); err != nil {
		return gateway.DocumentPage{}, err
	}
	return w.Store.Documents(ctx, q)
}

// CountDocuments is gateway.Store's, unless Faults says otherwise.
func (w *Store) CountDocuments(ctx context.Context, q gateway.DocumentQuery) (int, error) {
	if err := w.Faults.enter(ctx, "CountDocuments"); err != nil {
		return 0, err
	}
	return w.Store.CountDocuments(ctx, q)
}

// QuarantineEntries is gateway.Store's, unless Faults says otherwise.
func (w *Store) QuarantineEntries(ctx context.Context, limit int) ([]gateway.QuarantineEntry, error) {
	if err := w.Faults.enter(ctx, "QuarantineEntries"); err != nil {
		return nil, err
	}
	return w.Store.QuarantineEntries(ctx, limit)
}

// ReportRows is gateway.Store's, unless Faults says otherwise.
func (w *Store) ReportRows(ctx context.Context, q gateway.ReportQuery, fn func(*gateway.ReportRow) error) error {
	if err := w.Faults.enter(ctx, "ReportRows"); err != nil {
		return err
	}
	return w.Store.ReportRows(ctx, q, fn)
}

// Stats is gateway.Store's, unless Faults says otherwise.
func (w *Store) Stats(ctx context.Context, now time.Time) (gateway.StoreStats, error) {
	if err := w.Faults.enter(ctx, "Stats"); err != nil {
		return gateway.StoreStats{}, err
	}
	return w.Store.Stats(ctx, now)
}

// Check is gateway.Store's, unless Faults says otherwise.
func (w *Store) Check(ctx context.Context) error {
	if err := w.Faults.enter(ctx, "Check"); err != nil {
		return err
	}
	return w.Store.Check(ctx)
}

// Close is gateway.Store's, unless Faults says otherwise.
func (w *Store) Close() error {
	if err := w.Faults.enter(nil, "Close"); err != nil {
		return err
	}
	return w.Store.Close()
}
