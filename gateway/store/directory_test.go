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

// TestStore_DirectoryBriefs: a brief is kept beside the record of its
// version only, follows the record's revision, goes when another version
// of the record without one replaces it or when the record is forgotten;
// the records kept without a brief are listed apart.
func TestStore_DirectoryBriefs(t *testing.T) {
	s := mustOpenStoreAt(t, filepath.Join(t.TempDir(), "lienthong.db"))
	ctx := t.Context()
	keep := func(rs ...gateway.KeptRecord) {
		t.Helper()
		if err := s.KeepDirectoryRecords(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	check := func(step string, briefs, without []gateway.KeptRecord) {
		t.Helper()
		got, err := s.DirectoryBriefs(ctx, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, briefs) {
			t.Errorf("%s: briefs %+v, want %+v", step, got, briefs)
		}
		if got, err = s.DirectoryRecordsWithoutBrief(ctx, "", 100); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, without) {
			t.Errorf("%s: records without a brief %+v, want %+v", step, got, without)
		}
	}
	brief := func(key string, version, revision uint64, b string) gateway.KeptRecord {
		return gateway.KeptRecord{Key: key, Version: version, Revision: revision, Brief: []byte(b)}
	}
	gw := gateway.KeptRecord{Key: "gw.hn", Version: 1, Value: []byte("gateway record"), Revision: 3}
	old := gateway.KeptRecord{Key: "H40", Version: 1, Value: []byte("kept before briefs"), Revision: 4}
	keep(gateway.KeptRecord{Key: "H41", Version: 2, Value: []byte("record 2"), Revision: 5, Brief: []byte("brief 2")}, gw, old)
	check("kept", []gateway.KeptRecord{brief("H41", 2, 5, "brief 2")}, []gateway.KeptRecord{old, gw})

	// The brief of a record kept before briefs; one for a version not
	// kept, and one for a key not kept, are not.
	keep(brief("H40", 1, 0, "brief of H40"), brief("H41", 1, 0, "brief of an older version"), brief("H42", 1, 0, "brief of nothing"))
	check("briefs alone", []gateway.KeptRecord{brief("H40", 1, 4, "brief of H40"), brief("H41", 2, 5, "brief 2")}, []gateway.KeptRecord{gw})

	// The same record at a new revision, without its brief: the brief
	// follows.
	keep(gateway.KeptRecord{Key: "H41", Version: 2, Value: []byte("record 2"), Revision: 9})
	check("revision", []gateway.KeptRecord{brief("H40", 1, 4, "brief of H40"), brief("H41", 2, 9, "brief 2")}, []gateway.KeptRecord{gw})

	// An older record changes nothing; a newer one without a brief takes
	// its out.
	keep(gateway.KeptRecord{Key: "H41", Version: 1, Value: []byte("record 1"), Revision: 10})
	check("older", []gateway.KeptRecord{brief("H40", 1, 4, "brief of H40"), brief("H41", 2, 9, "brief 2")}, []gateway.KeptRecord{gw})
	h41 := gateway.KeptRecord{Key: "H41", Version: 3, Value: []byte("record 3"), Revision: 11}
	keep(h41)
	check("newer", []gateway.KeptRecord{brief("H40", 1, 4, "brief of H40")}, []gateway.KeptRecord{h41, gw})

	// Forgotten, the record's brief goes with it.
	if err := s.ForgetDirectoryRecord(ctx, "H40", []byte("kept before briefs")); err != nil {
		t.Fatal(err)
	}
	check("forgotten", nil, []gateway.KeptRecord{h41, gw})

	if err := s.KeepDirectoryRecords(ctx, []gateway.KeptRecord{{Key: "H43", Version: 1}}); err == nil {
		t.Error("a record with neither a value nor a brief was kept")
	}
}
