package signing

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestReadSignedRecord: the fast reading of a record's wire form gives
// what encoding/json gives for the form SignRecord writes, and leaves to
// encoding/json every other form — spaces, another order, another field,
// escapes — so that no input reads differently from before.
func TestReadSignedRecord(t *testing.T) {
	canonical, err := json.Marshal(SignedRecord{Record: []byte(`{"agency":{"code":"000.00.12.H41"}}`), Signature: []byte{1, 2, 3, 250}, Chain: [][]byte{{0x30, 0x82}, {0x30, 0x81, 0xff}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cutSignedRecord(canonical); !ok {
		t.Fatalf("SignRecord's form %s is not read the fast way", canonical)
	}
	for _, tc := range []struct {
		name string
		data string
		fast bool
	}{
		{"canonical", string(canonical), true},
		{"spaces", `{"record": "e30=", "signature": "AQID", "chain": ["MII="]}`, false},
		{"order", `{"signature":"AQID","record":"e30=","chain":["MII="]}`, false},
		{"field after the chain", `{"record":"e30=","signature":"AQID","chain":["MII="],"chain2":["AA=="]}`, false},
		{"chain twice", `{"record":"e30=","signature":"AQID","chain":["MII="],"chain":["AA=="]}`, false},
		{"escaped", `{"record":"e30\u003d","signature":"AQID","chain":["MII="]}`, false},
		{"bad base64", `{"record":"e30","signature":"AQID","chain":["MII="]}`, false},
		{"raw line break", "{\"record\":\"e3\n0=\",\"signature\":\"AQID\",\"chain\":[\"MII=\"]}", false},
		{"nested chain", `{"record":"e30=","signature":"AQID","chain":[["MII="]]}`, false},
		{"chain not an array", `{"record":"e30=","signature":"AQID","chain":{"a":"MII="}}`, false},
		{"empty chain", `{"record":"e30=","signature":"AQID","chain":[]}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, fast := cutSignedRecord([]byte(tc.data)); fast != tc.fast {
				t.Errorf("read the fast way: %v, want %v", fast, tc.fast)
			}
			got, gerr := readSignedRecord([]byte(tc.data))
			var want signedRecordWire
			werr := json.Unmarshal([]byte(tc.data), &want)
			if (gerr == nil) != (werr == nil) {
				t.Fatalf("error %v, encoding/json's %v", gerr, werr)
			}
			if gerr != nil {
				return
			}
			if !reflect.DeepEqual(got.Record, want.Record) || !reflect.DeepEqual(got.Signature, want.Signature) {
				t.Errorf("record %q signature %x, encoding/json's %q %x", got.Record, got.Signature, want.Record, want.Signature)
			}
			var gc, wc any
			gcErr, wcErr := json.Unmarshal(got.Chain, &gc), json.Unmarshal(want.Chain, &wc)
			if (gcErr == nil) != (wcErr == nil) || !reflect.DeepEqual(gc, wc) {
				t.Errorf("chain %s, encoding/json's %s", got.Chain, want.Chain)
			}
		})
	}
}

// FuzzReadSignedRecord: whatever the bytes, the fast reading never
// accepts what encoding/json refuses and never reads the record or the
// signature differently.
//
//	go test ./signing -run '^$' -fuzz FuzzReadSignedRecord -fuzztime 5m
func FuzzReadSignedRecord(f *testing.F) {
	f.Add([]byte(`{"record":"e30=","signature":"AQID","chain":["MII=","MA=="]}`))
	f.Add([]byte(`{"record":"e30=","signature":"AQID","chain":["MII="],"x":1}`))
	f.Add([]byte(`{"record":"e30=","signature":"AQID","chain":[]}`))
	f.Add([]byte(`{"record":"","signature":"","chain":[A]}`)) // not JSON, once read the fast way
	f.Fuzz(func(t *testing.T, data []byte) {
		got, fast := cutSignedRecord(data)
		if !fast {
			return
		}
		var want signedRecordWire
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("%q read the fast way, refused by encoding/json: %v", data, err)
		}
		if !reflect.DeepEqual(got.Record, want.Record) || !reflect.DeepEqual(got.Signature, want.Signature) {
			t.Fatalf("%q: record %q signature %x, encoding/json's %q %x", data, got.Record, got.Signature, want.Record, want.Signature)
		}
		if !reflect.DeepEqual([]byte(got.Chain), []byte(want.Chain)) {
			t.Fatalf("%q: chain %s, encoding/json's %s", data, got.Chain, want.Chain)
		}
	})
}
