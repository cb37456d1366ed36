package gateway_test

import (
	"archive/zip"
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/api"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/gateway/rollup"
	"github.com/lienthong/lienthong/internal/testkit"
	"github.com/lienthong/lienthong/signing"
)

// statusesTo is an Observer recording to whom a gateway published status
// packets.
type statusesTo struct {
	gateway.NopObserver
	mu sync.Mutex
	to []string
}

func (o *statusesTo) Published(kind gateway.PacketKind, to string, err error) {
	if kind == gateway.KindStatus && err == nil {
		o.mu.Lock()
		o.to = append(o.to, to)
		o.mu.Unlock()
	}
}

func (o *statusesTo) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.to)
}

// TestGateway_FirstContact: packets as real systems produce them (issue
// 15), signed by their sender's registered key and published raw on the
// axis, as another product would: a hub's TraceHeaders without OrganId or
// with "null", one agency listed under both its codes (and so published to
// it twice), a ZIP attachment that does not open, and OtherInfo/Direction.
// Each is stored once, with one delivery, answered with one 01, and what
// was odd is kept with the document and shown by the API.
func TestGateway_FirstContact(t *testing.T) {
	ax := testkit.NewAxis(t)
	obs := &statusesTo{}
	h41 := ax.Gateway("nghean", func(o *gateway.Options) { o.Observer = obs }, [2]string{nghean, "UBND tỉnh Nghệ An"})

	// The sender is another product: its agency and key are in the
	// directory; no lienthong gateway of ours sends for it.
	is, err := ax.CA.Issue(signing.IssueRequest{Agency: vpcp, Name: "Văn phòng Chính phủ"})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
	if err != nil {
		t.Fatal(err)
	}
	code, _ := envelope.ParseAgencyCode(vpcp, envelope.CodeStrict)
	ax.Register(testkit.HostedEntry("other-product", gateway.HostedAgency{Code: code, Name: "Văn phòng Chính phủ", Signer: signer}))
	testkit.Eventually(t, "the sender in Nghệ An's directory", func() bool { _, ok := h41.Directory().Lookup(vpcp); return ok })

	raw, err := bus.Open(t.Context(), bus.Options{URL: ax.URL, Name: "other-product"}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	h, err := api.NewHandler(h41, rollup.New(h41), []api.Key{{Name: "dms", Secret: "khoa-thu", Agencies: []string{nghean}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	var broken bytes.Buffer
	zw := zip.NewWriter(&broken)
	w, _ := zw.Create("cong-van.pdf")
	w.Write([]byte("%PDF-1.4 công văn\n%%EOF\n"))
	zw.Close()
	brokenZip := broken.Bytes()[:broken.Len()-10] // the end record cut short

	cases := []struct {
		name   string
		to     []string
		files  []testkit.File
		edit   func(e *envelope.Edoc)
		copies int // how many times the sender publishes it
		want   []string
	}{
		{
			name: "trace headers added in transit",
			to:   []string{nghean},
			edit: func(e *envelope.Edoc) {
				e.Trace = append(e.Trace,
					envelope.TraceHeader{Timestamp: e.Trace[0].Timestamp},
					envelope.TraceHeader{OrganID: "null", Timestamp: e.Trace[0].Timestamp})
			},
			want: []string{"TraceHeaderList/TraceHeader[2]/OrganId trace-organ-missing", "TraceHeaderList/TraceHeader[3]/OrganId trace-organ-null"},
		},
		{
			name: "one agency under both its codes",
			to:   []string{nghean},
			edit: func(e *envelope.Edoc) {
				e.Header.To = []envelope.Organization{
					{OrganID: "H41", OrganName: "UBND tỉnh Nghệ An"},
					{OrganID: nghean, OrganName: "UBND tỉnh Nghệ An (mã cũ)"},
				}
			},
			copies: 2,
			want:   []string{"MessageHeader/To[2]/OrganId duplicate-recipient"},
		},
		{
			name:  "a ZIP that does not open",
			to:    []string{nghean},
			files: []testkit.File{{Name: "cong-van.zip", ContentType: "application/zip", Data: brokenZip}},
			want:  []string{"AttachmentEncoded/Attachment[1] unreadable-zip"},
		},
		{
			name: "OtherInfo/Direction",
			to:   []string{nghean},
			edit: func(e *envelope.Edoc) { e.Header.OtherInfo.Direction = "true" },
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := testkit.Letter{From: vpcp, FromName: "Văn phòng Chính phủ", To: tc.to, Number: fmt.Sprint(100 + i), Attachments: tc.files}.Packet(t)
			p, _, err := envelope.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if tc.edit != nil {
				tc.edit(p.Edoc)
			}
			// Written as the other product would, without our send
			// profile's checks.
			b, err = envelope.Encoder{Lenient: true}.Encode(p)
			if err != nil {
				t.Fatal(err)
			}
			signed, err := signer.Sign(b)
			if err != nil {
				t.Fatal(err)
			}
			for n := range max(tc.copies, 1) {
				if _, err := raw.Publish(t.Context(), gateway.Publication{Subject: "lt.edoc.H41", MsgID: fmt.Sprintf("other:%d:%d", i, n), Packet: signed}); err != nil {
					t.Fatal(err)
				}
			}
			documentID := p.Edoc.Header.DocumentID
			var doc gateway.DocumentSummary
			testkit.Eventually(t, "the document at Nghệ An", func() bool {
				for _, d := range incoming(t, h41, nghean) {
					if d.DocumentID == documentID {
						doc = d
						return true
					}
				}
				return false
			})
			// Every copy handled: none waits, none was quarantined.
			testkit.Eventually(t, "the copies handled", func() bool {
				st, err := h41.Store().Stats(t.Context(), doc.CreatedAt)
				return err == nil && st.OutboxItems == 0
			})
			q, err := h41.Store().QuarantineEntries(t.Context(), 10)
			if err != nil || len(q) != 0 {
				t.Fatalf("quarantined: %+v (%v)", q, err)
			}
			n := 0
			for _, d := range incoming(t, h41, nghean) {
				if d.DocumentID == documentID {
					n++
				}
			}
			if n != 1 {
				t.Errorf("stored %d times, want once", n)
			}

			// The API shows the document with its warnings, one delivery
			// and one 01.
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/v1/documents/"+doc.ID, nil)
			req.Header.Set("Authorization", "Bearer khoa-thu")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var got gateway.DocumentDetail
			if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("GET the document: %d, %v", res.StatusCode, err)
			}
			var warns []string
			for _, w := range got.Warnings {
				warns = append(warns, w.Path+" "+w.Code)
				if w.MessageVI == "" || w.MessageEN == "" {
					t.Errorf("warning %s without a message in both languages", w.Code)
				}
			}
			if !slices.Equal(warns, tc.want) {
				t.Errorf("warnings in the API %q, want %q", warns, tc.want)
			}
			if len(got.Deliveries) != 1 || got.Deliveries[0].Recipient != nghean {
				t.Errorf("deliveries %+v, want one to %s", got.Deliveries, nghean)
			}
			arrived := 0
			for _, e := range got.Events {
				if e.Kind == gateway.EventStatus && e.StatusCode == envelope.StatusArrived {
					arrived++
				}
			}
			if arrived != 1 {
				t.Errorf("%d 01s recorded, want 1: %+v", arrived, got.Events)
			}
		})
	}
	// One 01 published to the sender per document, none else.
	testkit.Eventually(t, "the 01s published", func() bool { return len(obs.list()) >= len(cases) })
	if to := obs.list(); len(to) != len(cases) || slices.ContainsFunc(to, func(s string) bool { return s != vpcp }) {
		t.Errorf("statuses published to %q, want one to %s per document", to, vpcp)
	}
}
