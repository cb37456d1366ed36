package client

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestWorkedExample: the request of vxp-api.md §2.3, byte for byte — a
// fresh client's getAgenciesList("{}") for vxp.saas.03 with the secret
// test-secret, made at 14 Oct 2025 09:30:15.123.
func TestWorkedExample(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		if r.URL.Path != "/XrdAdapter/adapter/getAgenciesList" || r.Method != http.MethodPost {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		w.Write([]byte(`{"status":"OK","ErrorCode":"0","ErrorDesc":"Thanh cong","data":[]}`))
	}))
	defer srv.Close()
	made := time.Date(2025, 10, 14, 9, 30, 15, 123e6, time.Local)
	c := New(srv.URL+"/XrdAdapter/adapter", "vxp.saas.03", "test-secret", made, nil)
	res, err := c.GetAgenciesList(t.Context())
	if err != nil || res.Status != "OK" {
		t.Fatalf("%+v, %v", res, err)
	}
	for k, want := range map[string]string{
		"Xroadvnpt-Systemid":        "vxp.saas.03",
		"Xroadvnpt-Timestamp":       "14102025T093015+0123",
		"Content-Type":              "application/json",
		"Xroadvnpt-Content-Type":    "application/json",
		"Xroadvnpt-Sign-Header-Key": "systemid;timestamp;Content-Type",
		"Xroadvnpt-Sign-Header":     `{"XroadVnpt-systemid":"vxp.saas.03","XroadVnpt-timestamp":"14102025T093015+0123","XroadVnpt-Content-Type":"application/json"}`,
		"Xroadvnpt-Hash-Header":     "7f321c6669090b8d9a54fd90905117517358daf544325149a5242887722b233d",
		"User-Agent":                "JAVASDKAgent/1.0.0 XRoad/VPCP",
		"Xroadvnpt-Version":         "3.0.201608",
	} {
		if g := got.Get(k); g != want {
			t.Errorf("%s: %q, want %q", k, g, want)
		}
	}
}

// TestHashMapOrder: the key order the recorded client sent after several
// calls (vxp-api.md §2.4).
func TestHashMapOrder(t *testing.T) {
	var keys []entry
	for _, k := range []string{"timestamp", "systemid", "Content-Type", "servicetype", "messagetype", "hash-file", "from", "to", "docId", "filePath", "status"} {
		keys = append(keys, entry{key: k})
	}
	var got []string
	for _, e := range hashMapOrder(keys) {
		got = append(got, e.key)
	}
	if want := "systemid;servicetype;messagetype;hash-file;docId;filePath;from;to;timestamp;Content-Type;status"; strings.Join(got, ";") != want {
		t.Errorf("order %s\nwant  %s", strings.Join(got, ";"), want)
	}
}

// TestHashFile: no leading zeros ("05" is "5").
func TestHashFile(t *testing.T) {
	// SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad:
	// 01 is 1, 03 is 3, 00 is 0.
	if got, want := HashFile([]byte("abc")), "ba7816bf8f1cfea414140de5dae2223b0361a396177a9cb410ff61f2015ad"; got != want {
		t.Errorf("HashFile(abc) = %s, want %s", got, want)
	}
}
