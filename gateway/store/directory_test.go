package store_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/lienthong/lienthong/gateway"
)

// TestStore_DirectoryRecordsOf: the records kept under the keys asked
// for, by key and each once, over more keys than one statement looks up,
// the keys the store does not hold left out.
func TestStore_DirectoryRecordsOf(t *testing.T) {
	s := mustOpenStoreAt(t, filepath.Join(t.TempDir(), "lienthong.db"))
	var kept []gateway.KeptRecord
	for i := range 250 {
		kept = append(kept, gateway.KeptRecord{Key: fmt.Sprintf("H%03d", i), Version: uint64(i + 1), Value: fmt.Appendf(nil, "record %d", i), Revision: uint64(i)})
	}
	if err := s.KeepDirectoryRecords(t.Context(), kept); err != nil {
		t.Fatal(err)
	}
	if got, err := s.DirectoryRecordsOf(t.Context(), nil); err != nil || got != nil {
		t.Errorf("no keys: %v, %v", got, err)
	}
	if got, err := s.DirectoryRecordsOf(t.Context(), []string{"H007"}); err != nil || !reflect.DeepEqual(got, kept[7:8]) {
		t.Errorf("one key: %+v, %v", got, err)
	}
	// Every third key, backwards, with keys not kept, then one more and
	// one again: 170 keys in two statements.
	var keys []string
	var want []gateway.KeptRecord
	for i := 249; i >= 0; i -= 3 {
		keys = append(keys, kept[i].Key, fmt.Sprintf("X%03d", i))
	}
	keys = append(keys, kept[1].Key, kept[249].Key)
	for i := range 250 {
		if i%3 == 0 || i == 1 {
			want = append(want, kept[i])
		}
	}
	got, err := s.DirectoryRecordsOf(t.Context(), keys)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%d records, want %d: %+v", len(got), len(want), got)
	}
}
