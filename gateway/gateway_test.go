package gateway_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/internal/testkit"
	"github.com/lienthong/lienthong/signing"
)

func letter(t *testing.T, from, fromName string, to ...string) []byte {
	t.Helper()
	return testkit.Letter{From: from, FromName: fromName, To: to}.Packet(t)
}

func deliveryState(t *testing.T, gw *gateway.Gateway, doc, recipient string) envelope.State {
	t.Helper()
	d, err := gw.Store().Document(t.Context(), doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, dl := range d.Deliveries {
		if dl.Recipient == recipient {
			return dl.State
		}
	}
	t.Fatalf("document %s has no delivery to %s", doc, recipient)
	return 0
}

// allSent waits until gw's outbox is empty: everything it queued is in
// the streams, acknowledged by JetStream. With settled on the receiving
// gateway, it is the barrier after which what was sent and did not show
// never will.
func allSent(t *testing.T, gw *gateway.Gateway) {
	t.Helper()
	testkit.Eventually(t, "the outbox to empty", func() bool {
		st, err := gw.Store().Stats(t.Context(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return st.OutboxItems == 0
	})
}

func incoming(t *testing.T, gw *gateway.Gateway, agency string) []gateway.DocumentSummary {
	t.Helper()
	page, err := gw.Store().Documents(t.Context(), gateway.DocumentQuery{Direction: gateway.Incoming, Agencies: []string{agency}})
	if err != nil {
		t.Fatal(err)
	}
	return page.Documents
}

// TestGateway_Exchange: a document from VPCP reaches Nghệ An and its
// department, verifies, and comes back as 01 by itself; the recipient's
// statuses reach the sender; an illegal transition is refused; a recall
// works.
func TestGateway_Exchange(t *testing.T) {
	ax := testkit.NewAxis(t)
	const soyte = "000.00.12.H41"
	g22 := ax.Gateway("vpcp", nil, [2]string{vpcp, "Văn phòng Chính phủ"})
	h41 := ax.Gateway("nghean", nil, [2]string{nghean, "UBND tỉnh Nghệ An"}, [2]string{soyte, "Sở Y tế tỉnh Nghệ An"})
	testkit.Eventually(t, "the directory to list Nghệ An at VPCP", func() bool {
		_, a := g22.Directory().Lookup(nghean)
		_, b := g22.Directory().Lookup(soyte)
		return a && b
	})

	doc, replay, err := g22.Submit(t.Context(), gateway.Submission{Packet: letter(t, vpcp, "Văn phòng Chính phủ", nghean, soyte)})
	if err != nil || replay {
		t.Fatalf("Submit: %v (replay %v)", err, replay)
	}
	for _, to := range []string{nghean, soyte} {
		testkit.Eventually(t, "01 from "+to, func() bool { return deliveryState(t, g22, doc.ID, to) == envelope.StateArrived })
	}
	in := incoming(t, h41, nghean)
	if len(in) != 1 || in[0].DocumentID != doc.DocumentID || in[0].Verdict.Outcome != string(signing.Valid) {
		t.Fatalf("incoming at Nghệ An: %+v", in)
	}
	if got := len(incoming(t, h41, soyte)); got != 1 {
		t.Fatalf("%d incoming documents at the department, want 1", got)
	}
	inID := in[0].ID

	for _, c := range []envelope.StatusCode{envelope.StatusAccepted, envelope.StatusAssigned, envelope.StatusProcessing} {
		if err := h41.PostStatus(t.Context(), gateway.StatusRequest{Document: inID, Code: c, Description: "ý kiến"}); err != nil {
			t.Fatalf("PostStatus %s: %v", c, err)
		}
	}
	testkit.Eventually(t, "processing at VPCP", func() bool { return deliveryState(t, g22, doc.ID, nghean) == envelope.StateProcessing })

	err = h41.PostStatus(t.Context(), gateway.StatusRequest{Document: inID, Code: envelope.StatusRejected, Description: "không thuộc thẩm quyền"})
	var te *envelope.TransitionError
	if !errors.As(err, &te) || !errors.Is(err, envelope.ErrStatusConflict) {
		t.Fatalf("02 after 05: %v, want a status conflict", err)
	}
	if err := h41.PostStatus(t.Context(), gateway.StatusRequest{Document: inID, Code: envelope.StatusRejected}); !errors.Is(err, gateway.ErrReasonRequired) {
		t.Fatalf("02 without a reason: %v", err)
	}

	// Recall: 13 from VPCP to Nghệ An only, 15 back.
	if err := g22.PostStatus(t.Context(), gateway.StatusRequest{Document: doc.ID, Code: envelope.StatusRecallRequested, Description: "sai sót", Recipients: []string{nghean}}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the recall at Nghệ An", func() bool { return deliveryState(t, h41, inID, nghean) == envelope.StateRecallRequested })
	if err := h41.PostStatus(t.Context(), gateway.StatusRequest{Document: inID, Code: envelope.StatusRecallAccepted}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "recalled at VPCP", func() bool { return deliveryState(t, g22, doc.ID, nghean) == envelope.StateRecalled })
	if got := deliveryState(t, g22, doc.ID, soyte); got != envelope.StateArrived {
		t.Errorf("the department's delivery is %s, want arrived", got)
	}

	// The same document again is a duplicate; the same with the same
	// Idempotency-Key is a replay.
	packet := letter(t, vpcp, "Văn phòng Chính phủ", nghean)
	packet = bytes.Replace(packet, []byte("15/VPCP-TH"), []byte("16/VPCP-TH"), -1)
	packet = bytes.Replace(packet, []byte(">15<"), []byte(">16<"), -1)
	first, _, err := g22.Submit(t.Context(), gateway.Submission{Packet: packet, IdempotencyKey: "k1", RequestHash: "h1"})
	if err != nil {
		t.Fatal(err)
	}
	again, replay, err := g22.Submit(t.Context(), gateway.Submission{Packet: packet, IdempotencyKey: "k1", RequestHash: "h1"})
	if err != nil || !replay || again.ID != first.ID {
		t.Fatalf("replay: %v %v %+v", err, replay, again)
	}
	if _, _, err := g22.Submit(t.Context(), gateway.Submission{Packet: packet}); !errors.Is(err, gateway.ErrDuplicateDocument) {
		t.Fatalf("the same document again: %v", err)
	}
	if _, _, err := g22.Submit(t.Context(), gateway.Submission{Packet: letter(t, vpcp, "Văn phòng Chính phủ", "000.00.00.H99")}); !errors.Is(err, gateway.ErrUnknownRecipient) {
		t.Fatalf("an unknown recipient: %v", err)
	}
}

// The agencies of delivered.
const vpcp, nghean = "000.00.00.G22", "000.00.00.H41"

// delivered starts VPCP's and Nghệ An's gateways and returns them with a
// document VPCP sent to Nghệ An, once its 01 came back.
func delivered(t *testing.T) (*testkit.Axis, *gateway.Gateway, *gateway.Gateway, *gateway.Document) {
	t.Helper()
	ax := testkit.NewAxis(t)
	g22 := ax.Gateway("vpcp", nil, [2]string{vpcp, "Văn phòng Chính phủ"})
	h41 := ax.Gateway("nghean", nil, [2]string{nghean, "UBND tỉnh Nghệ An"})
	testkit.Eventually(t, "the directory", func() bool { _, ok := g22.Directory().Lookup(nghean); return ok })
	doc, _, err := g22.Submit(t.Context(), gateway.Submission{Packet: letter(t, vpcp, "Văn phòng Chính phủ", nghean)})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "01", func() bool { return deliveryState(t, g22, doc.ID, nghean) == envelope.StateArrived })
	return ax, g22, h41, doc
}

// TestGateway_Quarantine: a tampered copy of a document is quarantined
// with the signature verdict as its reason; since the genuine document
// was received, its sender is not told it was refused.
func TestGateway_Quarantine(t *testing.T) {
	ax, g22, h41, doc := delivered(t)

	p, err := g22.Store().Packet(t.Context(), doc.PacketID)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(p.Data, []byte("tình hình kết nối"), []byte("tình hình ngắt kết nối"), 1)
	raw, err := bus.Open(t.Context(), bus.Options{URL: ax.URL, Name: "attacker"}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Publish(t.Context(), gateway.Publication{Subject: "lt.edoc.H41", MsgID: "replay:1", Packet: tampered}); err != nil {
		t.Fatal(err)
	}
	var entry gateway.QuarantineEntry
	testkit.Eventually(t, "the quarantine", func() bool {
		q, err := h41.Store().QuarantineEntries(t.Context(), 10)
		if err != nil || len(q) == 0 {
			return false
		}
		entry = q[0]
		return true
	})
	// The sender is only a claim of bytes whose signature does not
	// verify: it is not recorded as the sender.
	if entry.Reason != "signature:invalid" || entry.Sender != "" || entry.Recipient != nghean || entry.MsgID != "replay:1" {
		t.Errorf("quarantined as %+v", entry)
	}
	if got := len(incoming(t, h41, nghean)); got != 1 {
		t.Errorf("%d incoming documents, want the genuine one only", got)
	}
	// No 02 went back: the delivery stays arrived. A 02 would have been
	// queued with the quarantine entry, in one transaction; once Nghệ
	// An's gateway has published all it queued and VPCP's has settled
	// all it got, it would show.
	allSent(t, h41)
	settled(t, g22)
	if got := deliveryState(t, g22, doc.ID, nghean); got != envelope.StateArrived {
		t.Errorf("after the bad copy the delivery is %s, want arrived", got)
	}
}

// TestGateway_Revoke: a revocation (BussinessDocType 1) naming a document
// marks that document revoked at both ends, with a revoked event.
func TestGateway_Revoke(t *testing.T) {
	_, g22, h41, doc := delivered(t)

	revocation := testkit.Letter{From: vpcp, FromName: "Văn phòng Chính phủ", To: []string{nghean}, Number: "16",
		Subject: "V/v thu hồi công văn số 15/VPCP-TH", Revokes: doc.DocumentID}.Packet(t)
	rev, _, err := g22.Submit(t.Context(), gateway.Submission{Packet: revocation})
	if err != nil {
		t.Fatal(err)
	}
	if rev.BussinessDocType != 1 || rev.Related != doc.DocumentID {
		t.Errorf("the revocation is recorded as type %d of %q", rev.BussinessDocType, rev.Related)
	}
	revoked := func(gw *gateway.Gateway, id string) bool {
		d, err := gw.Store().Document(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range d.Events {
			if ev.Kind == gateway.EventRevoked {
				return d.RevokedAt != nil
			}
		}
		return false
	}
	if !revoked(g22, doc.ID) {
		t.Error("the sender's document is not marked revoked")
	}
	in := incoming(t, h41, nghean)
	var original string
	for _, d := range in {
		if d.DocumentID == doc.DocumentID {
			original = d.ID
		}
	}
	testkit.Eventually(t, "the revocation at Nghệ An", func() bool { return original != "" && revoked(h41, original) })
}

// publishedStatuses is an Observer counting the status packets a gateway
// published.
type publishedStatuses struct {
	gateway.NopObserver
	n atomic.Int64
}

func (o *publishedStatuses) Published(kind gateway.PacketKind, _ string, err error) {
	if kind == gateway.KindStatus && err == nil {
		o.n.Add(1)
	}
}

// TestGateway_NoAnswerToUnproven: a packet whose signature is not valid
// and bound to its sender is quarantined and never answered — no 02 signed
// on the strength of its claimed From and DocumentId — so that a hostile
// peer cannot refuse, in the recipient's name, a document the sender has
// not sent yet. The genuine document then arrives as usual.
func TestGateway_NoAnswerToUnproven(t *testing.T) {
	ax := testkit.NewAxis(t)
	g22 := ax.Gateway("vpcp", nil, [2]string{vpcp, "Văn phòng Chính phủ"})
	obs := &publishedStatuses{}
	h41 := ax.Gateway("nghean", func(o *gateway.Options) { o.Observer = obs }, [2]string{nghean, "UBND tỉnh Nghệ An"})
	// Another gateway's agency, with a valid key of its own.
	ax.Gateway("hcm", nil, [2]string{"000.00.00.H29", "UBND Thành phố Hồ Chí Minh"})
	testkit.Eventually(t, "the directory", func() bool { _, ok := g22.Directory().Lookup(nghean); return ok })

	genuine := letter(t, vpcp, "Văn phòng Chính phủ", nghean)
	signerFor := func(agency string, gatewayCert bool, ca *signing.CA) *signing.Signer {
		is, err := ca.Issue(signing.IssueRequest{Agency: agency, Name: "Kẻ mạo danh", Gateway: gatewayCert})
		if err != nil {
			t.Fatal(err)
		}
		s, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	selfCA, err := signing.InitCA(filepath.Join(t.TempDir(), "self"), signing.CAOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(s *signing.Signer) []byte {
		b, err := s.Sign(genuine)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	forgeries := []struct {
		name, reason string
		packet       []byte
	}{
		{"unsigned", "signature:missing", genuine},
		{"self-signed", "signature:untrusted", sign(signerFor(vpcp, false, selfCA))},
		{"signed by another agency's valid key", "signature:not-bound", sign(signerFor("000.00.00.H29", false, ax.CA))},
		{"signed by a gateway certificate not registered for the sender", "signature:not-bound", sign(signerFor("000.00.00.H29", true, ax.CA))},
	}
	raw, err := bus.Open(t.Context(), bus.Options{URL: ax.URL, Name: "attacker"}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for i, f := range forgeries {
		if _, err := raw.Publish(t.Context(), gateway.Publication{Subject: "lt.edoc.H41", MsgID: fmt.Sprintf("forged:%d", i), Packet: f.packet}); err != nil {
			t.Fatal(err)
		}
	}
	var entries []gateway.QuarantineEntry
	testkit.Eventually(t, "the forgeries in quarantine", func() bool {
		q, err := h41.Store().QuarantineEntries(t.Context(), 10)
		entries = q
		return err == nil && len(q) == len(forgeries)
	})
	reasons := map[string]string{}
	for _, e := range entries {
		reasons[e.MsgID] = e.Reason
		if e.Sender != "" {
			t.Errorf("%s: the unproven sender %q is recorded", e.MsgID, e.Sender)
		}
	}
	for i, f := range forgeries {
		if got := reasons[fmt.Sprintf("forged:%d", i)]; got != f.reason {
			t.Errorf("%s: quarantined as %q, want %q", f.name, got, f.reason)
		}
	}
	// A reply would have been queued with the quarantine entry, in one
	// transaction: none waits and none was published.
	st, err := h41.Store().Stats(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.OutboxItems != 0 || obs.n.Load() != 0 {
		t.Fatalf("Nghệ An answered the forgeries: %d statuses waiting, %d published", st.OutboxItems, obs.n.Load())
	}

	doc, _, err := g22.Submit(t.Context(), gateway.Submission{Packet: genuine})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "01 for the genuine document", func() bool { return deliveryState(t, g22, doc.ID, nghean) == envelope.StateArrived })
	if got := obs.n.Load(); got != 1 {
		t.Errorf("Nghệ An published %d statuses, want the genuine document's 01 only", got)
	}
}

// TestGateway_DirectoryKept: a gateway keeps the directory records it
// applied, and after a restart believes them over what the bucket holds
// then — an older signed record put back, junk, a deletion — which no
// NATS permission can rule out (JetStream writes its answers to whatever
// reply subject a client names).
func TestGateway_DirectoryKept(t *testing.T) {
	ax := testkit.NewAxis(t)
	g22 := ax.Gateway("vpcp", nil, [2]string{vpcp, "Văn phòng Chính phủ"})
	genuine, ok := g22.Directory().Registered(vpcp)
	if !ok {
		t.Fatal("VPCP is not registered")
	}
	dbPath := filepath.Join(t.TempDir(), "nghean.db")
	open := func() (*gateway.Gateway, func()) { return openNghean(t, ax, dbPath, zaptest.NewLogger(t)) }
	gw, closeGW := open()
	testkit.Eventually(t, "VPCP's entry at Nghệ An", func() bool {
		a, ok := gw.Directory().Registered(vpcp)
		return ok && a.Version == genuine.Version
	})
	closeGW()

	// While Nghệ An is down, the bucket's G22 key gets an older signed
	// record, and another key junk, then is deleted.
	older := genuine
	older.Name, older.Version = "Văn phòng Chính phủ (cũ)", 1
	ax.PutRecord(gateway.DirectoryRecord{Agency: &older})
	raw, err := bus.Open(t.Context(), bus.Options{URL: ax.URL, Name: "raw"}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	v, err := raw.DirectoryRecord(t.Context(), "G22")
	if err != nil {
		t.Fatal(err)
	}
	var sr signing.SignedRecord
	var inBucket gateway.DirectoryRecord
	if err := json.Unmarshal(v, &sr); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(sr.Record, &inBucket); err != nil || inBucket.Agency == nil || inBucket.Agency.Version != 1 {
		t.Fatalf("the bucket's G22 record: %+v, %v; want the older one", inBucket, err)
	}

	gw, closeGW = open()
	got, ok := gw.Directory().Registered(vpcp)
	if !ok || got.Version != genuine.Version || got.Name != genuine.Name {
		t.Fatalf("after the restart VPCP's entry is %+v (%v), want version %d %q", got, ok, genuine.Version, genuine.Name)
	}
	closeGW()

	// The records are kept with their revisions in the bucket, so that a
	// restart fetches only what changed: a newer record of VPCP and a new
	// agency, put while Nghệ An is down, are there as soon as it is open.
	st, err := store.Open(t.Context(), dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kept, err := st.DirectoryRecords(t.Context(), "", 100)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range kept {
		if r.Revision == 0 {
			t.Errorf("the kept record %s has no revision", r.Key)
		}
	}
	newer := genuine
	newer.Name, newer.Version = "Văn phòng Chính phủ (mới)", genuine.Version+1
	ax.PutRecord(gateway.DirectoryRecord{Agency: &newer})
	byt := gateway.Agency{Code: "000.00.00.G18", Name: "Bộ Y tế", Gateway: "byt", Version: 1, UpdatedAt: time.Now().UTC()}
	ax.PutRecord(gateway.DirectoryRecord{Agency: &byt})
	gw, closeGW = open()
	defer closeGW()
	if got, ok := gw.Directory().Registered(vpcp); !ok || got.Version != newer.Version || got.Name != newer.Name {
		t.Errorf("after a restart VPCP's entry is %+v (%v), want the record put while the gateway was down", got, ok)
	}
	if _, ok := gw.Directory().Registered(byt.Code); !ok {
		t.Error("an agency registered while the gateway was down is not in its directory after a restart")
	}
}

// TestGateway_LateStatus: PostStatusResult names the deliveries a status
// does not move (04 after 06), and not one whose recall is pending, where
// a progress code moves the state it returns to.
func TestGateway_LateStatus(t *testing.T) {
	_, g22, h41, doc := delivered(t)
	in := incoming(t, h41, nghean)[0].ID
	if err := g22.PostStatus(t.Context(), gateway.StatusRequest{Document: doc.ID, Code: envelope.StatusRecallRequested, Description: "Gửi nhầm"}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "13 at Nghệ An", func() bool { return deliveryState(t, h41, in, nghean) == envelope.StateRecallRequested })
	posted, err := h41.PostStatusResult(t.Context(), gateway.StatusRequest{Document: in, Code: envelope.StatusAssigned})
	if err != nil || len(posted.Late) != 0 {
		t.Errorf("04 while a recall is pending: %+v, %v; want no late delivery", posted, err)
	}
	if err := h41.PostStatus(t.Context(), gateway.StatusRequest{Document: in, Code: envelope.StatusRecallRefused}); err != nil {
		t.Fatal(err)
	}
	if err := h41.PostStatus(t.Context(), gateway.StatusRequest{Document: in, Code: envelope.StatusDone}); err != nil {
		t.Fatal(err)
	}
	posted, err = h41.PostStatusResult(t.Context(), gateway.StatusRequest{Document: in, Code: envelope.StatusAccepted})
	if err != nil || len(posted.Late) != 1 || posted.Late[0] != nghean {
		t.Errorf("03 after 06: %+v, %v; want Nghệ An's delivery late", posted, err)
	}
}

// TestGateway_TamperedKeptRecord: a record written into the store by
// someone else than the gateway — the administrator's public chain, any
// content, a high version — is believed at start (its signature is not
// checked then), found out right after, dropped, forgotten by the store
// and replaced by the bucket's genuine record.
func TestGateway_TamperedKeptRecord(t *testing.T) {
	ax := testkit.NewAxis(t)
	g22 := ax.Gateway("vpcp", nil, [2]string{vpcp, "Văn phòng Chính phủ"})
	genuine, ok := g22.Directory().Registered(vpcp)
	if !ok {
		t.Fatal("VPCP is not registered")
	}
	dbPath := filepath.Join(t.TempDir(), "nghean.db")
	open := func() (*gateway.Gateway, func()) { return openNghean(t, ax, dbPath, zaptest.NewLogger(t)) }
	gw, closeGW := open()
	testkit.Eventually(t, "VPCP's entry at Nghệ An", func() bool {
		a, ok := gw.Directory().Registered(vpcp)
		return ok && a.Version == genuine.Version
	})
	closeGW()

	// Forge G22's kept record: the genuine record's chain and signature,
	// another content with a higher version.
	st, err := store.Open(t.Context(), dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kept, err := st.DirectoryRecords(t.Context(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var forged []byte
	for _, r := range kept {
		if r.Key != "G22" {
			continue
		}
		var sr signing.SignedRecord
		if err := json.Unmarshal(r.Value, &sr); err != nil {
			t.Fatal(err)
		}
		fake := genuine
		fake.Name, fake.Version = "Cơ quan giả mạo", genuine.Version+1000
		if sr.Record, err = json.Marshal(gateway.DirectoryRecord{Agency: &fake}); err != nil {
			t.Fatal(err)
		}
		if forged, err = json.Marshal(sr); err != nil {
			t.Fatal(err)
		}
	}
	if forged == nil {
		t.Fatal("no kept record of G22")
	}
	if err := st.KeepDirectoryRecords(t.Context(), []gateway.KeptRecord{{Key: "G22", Version: genuine.Version + 1000, Value: forged}}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	gw, closeGW = open()
	defer closeGW()
	testkit.Eventually(t, "the genuine entry back", func() bool {
		a, ok := gw.Directory().Registered(vpcp)
		return ok && a.Version == genuine.Version && a.Name == genuine.Name
	})
}

// openNghean opens Nghệ An's gateway on ax, hosting Nghệ An, with its
// store at dbPath and the directory administered by ax, logging to log,
// its options changed by configure if given; the func closes it.
func openNghean(t *testing.T, ax *testkit.Axis, dbPath string, log *zap.Logger, configure ...func(*gateway.Options)) (*gateway.Gateway, func()) {
	t.Helper()
	st, err := store.Open(t.Context(), dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.Open(t.Context(), bus.Options{URL: ax.URL, Name: "nghean"}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	is, err := ax.CA.Issue(signing.IssueRequest{Agency: nghean, Name: "UBND tỉnh Nghệ An"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.NewSigner(is.Key, []*x509.Certificate{is.Certificate})
	if err != nil {
		t.Fatal(err)
	}
	opts := gateway.Options{ID: "nghean", Store: st, Bus: b, Logger: log, Roots: ax.Roots, DirectoryAnchors: ax.Roots,
		Agencies: []gateway.HostedAgency{{Code: envelope.MustAgencyCode(nghean), Name: "UBND tỉnh Nghệ An", Signer: s}}}
	for _, c := range configure {
		c(&opts)
	}
	gw, err := gateway.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	return gw, func() {
		if err := gw.Close(t.Context()); err != nil {
			t.Error(err)
		}
		b.Close()
		st.Close()
	}
}

// readBrief reads the brief kept under key, as JSON, for a test to tamper
// with it.
func readBrief(t *testing.T, db *sql.DB, key string) map[string]any {
	t.Helper()
	var raw []byte
	if err := db.QueryRow(`SELECT brief FROM directory_briefs WHERE key = ?`, key).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGateway_TamperedKeptBrief: a restart makes the directory's entries
// from the briefs kept beside the records, not from the records; what
// someone else than the gateway wrote into the store is believed at start
// and, once the records are checked right after, nothing of it is left
// and nothing genuine is lost:
//   - a brief naming another agency under its record's digest: the
//     record's entry and brief are taken again;
//   - a brief of another digest: the record is applied instead;
//   - a brief raising its version: the record's version is held, and the
//     administrator's newer record, put while the gateway was down, is
//     taken;
//   - a record that is nobody's (junk) under a brief of its digest and a
//     raised version: forgotten, and the bucket's taken;
//   - a record forged beside its genuine brief: forgotten, and the
//     bucket's taken;
//   - a brief without a record: taken out with its version, and an
//     agency registered under its key later is taken;
//   - a brief of another revision than its record's: kept again with the
//     record's (here by the bus, which reads the record again since its
//     revision is not the one held; confirming the entry does it too,
//     and reads the bucket's record again, for a brief whose revision is
//     the bucket's newer record's).
//
// There are 40 more agencies, so that the briefs tampered with come after
// others of the same administrator (each start judges an administrator
// from its first brief's record, then believes its other briefs until
// their records are checked).
func TestGateway_TamperedKeptBrief(t *testing.T) {
	ax := testkit.NewAxis(t)
	ax.Gateway("vpcp", nil, [2]string{vpcp, "Văn phòng Chính phủ"})
	genuine := make(map[string]gateway.Agency) // by code
	for i := 30; i < 70; i++ {
		a := gateway.Agency{Code: fmt.Sprintf("000.00.00.G%02d", i), Name: fmt.Sprintf("Bộ số %d", i), Gateway: "bo", Version: 1, UpdatedAt: time.Now().UTC()}
		ax.PutRecord(gateway.DirectoryRecord{Agency: &a})
		genuine[a.Code] = a
	}
	dbPath := filepath.Join(t.TempDir(), "nghean.db")
	gw, closeGW := openNghean(t, ax, dbPath, zaptest.NewLogger(t))
	briefs := func() []gateway.KeptRecord {
		rs, err := gw.Store().(*store.Store).DirectoryBriefs(t.Context(), "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	testkit.Eventually(t, "every entry kept with its brief", func() bool { return len(briefs()) == 41 })
	closeGW()

	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := db.Exec(query, args...); err != nil {
			t.Fatal(err)
		}
	}
	brief := func(key string) map[string]any { return readBrief(t, db, key) }
	putBrief := func(key string, version int, b map[string]any) {
		t.Helper()
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		exec(`INSERT INTO directory_briefs (key, version, revision, brief) VALUES (?, ?, 0, ?)
			ON CONFLICT (key) DO UPDATE SET version = excluded.version, brief = excluded.brief`, key, version, raw)
	}
	// Another name under G31's digest; another digest for G32; G33's
	// version raised to 1000.
	b := brief("G31")
	b["agency"].(map[string]any)["name"] = "Cơ quan giả mạo"
	putBrief("G31", 1, b)
	b = brief("G32")
	b["sum"] = make([]byte, 32)
	putBrief("G32", 1, b)
	b = brief("G33")
	b["agency"].(map[string]any)["version"] = 1000
	putBrief("G33", 1000, b)
	// G34's record forged (the genuine chain and signature, another
	// content), its brief left.
	var value []byte
	if err := db.QueryRow(`SELECT value FROM directory WHERE key = 'G34'`).Scan(&value); err != nil {
		t.Fatal(err)
	}
	var sr signing.SignedRecord
	if err := json.Unmarshal(value, &sr); err != nil {
		t.Fatal(err)
	}
	fake := genuine["000.00.00.G34"]
	fake.Name = "Cơ quan giả mạo"
	if sr.Record, err = json.Marshal(gateway.DirectoryRecord{Agency: &fake}); err != nil {
		t.Fatal(err)
	}
	if value, err = json.Marshal(sr); err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE directory SET value = ? WHERE key = 'G34'`, value)
	// G37's brief says another revision than its record's (so that a
	// restart would not read the bucket's record of G37 again).
	exec(`UPDATE directory_briefs SET revision = 12345 WHERE key = 'G37'`)
	// G36's record junk, its brief of the junk's digest, version 1000.
	junk := []byte("not a signed record")
	exec(`UPDATE directory SET value = ? WHERE key = 'G36'`, junk)
	b = brief("G36")
	sum := sha256.Sum256(junk)
	b["sum"] = sum[:]
	b["agency"].(map[string]any)["version"] = 1000
	putBrief("G36", 1000, b)
	// A brief for G70, which has no record (the store's foreign keys are
	// not on here, as in a shell).
	b = brief("G35")
	b["agency"].(map[string]any)["code"] = "000.00.00.G70"
	b["agency"].(map[string]any)["version"] = 1000
	putBrief("G70", 1000, b)

	// While the gateway is down, the administrator puts G33's version 2.
	g33 := genuine["000.00.00.G33"]
	g33.Name, g33.Version = "Bộ số 33 (mới)", 2
	ax.PutRecord(gateway.DirectoryRecord{Agency: &g33})
	genuine[g33.Code] = g33

	core, logs := observer.New(zap.InfoLevel)
	gw, closeGW = openNghean(t, ax, dbPath, zap.New(core))
	defer closeGW()
	loaded := logs.FilterMessage("directory loaded from the store").All()
	if len(loaded) != 1 || loaded[0].ContextMap()["fromBriefs"].(int64) < 38 {
		t.Errorf("the start did not load the directory from the briefs: %+v", loaded)
	}
	testkit.Eventually(t, "the records checked", func() bool {
		return logs.FilterMessage("kept directory records checked").Len() == 1
	})
	for _, code := range []string{"000.00.00.G31", "000.00.00.G32", "000.00.00.G33", "000.00.00.G34", "000.00.00.G36"} {
		testkit.Eventually(t, "the genuine entry of "+code, func() bool {
			a, ok := gw.Directory().Registered(code)
			return ok && a.Name == genuine[code].Name && a.Version == genuine[code].Version
		})
	}
	if _, ok := gw.Directory().Registered("000.00.00.G70"); ok {
		t.Error("the entry of a brief without a record is believed after the records were checked")
	}
	for _, m := range []string{"brief kept in the store is not", "record kept in the store does not verify", "no record kept confirms"} {
		if logs.FilterMessageSnippet(m).Len() == 0 {
			t.Errorf("nothing logged of %q", m)
		}
	}
	testkit.Eventually(t, "the records' briefs kept again, and none without a record", func() bool {
		rs := briefs()
		if len(rs) != 41 {
			return false
		}
		records, err := gw.Store().(*store.Store).DirectoryRecords(t.Context(), "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		revision := make(map[string]uint64)
		for _, r := range records {
			revision[r.Key] = r.Revision
		}
		for _, r := range rs {
			if r.Revision != revision[r.Key] {
				return false
			}
			want := uint64(1)
			switch r.Key {
			case "G22":
				continue
			case "G33":
				want = 2
			}
			if r.Version != want || bytes.Contains(r.Brief, []byte("giả mạo")) || bytes.Contains(r.Brief, []byte(`"sum":"AAAAAAAA`)) {
				return false
			}
		}
		return true
	})
	// The administrator's next records of G36 and of G70 are taken: no
	// version a brief said is held.
	for _, code := range []string{"000.00.00.G36", "000.00.00.G70"} {
		a := gateway.Agency{Code: code, Name: "Cơ quan mới", Gateway: "bo", Version: 2, UpdatedAt: time.Now().UTC()}
		ax.PutRecord(gateway.DirectoryRecord{Agency: &a})
		testkit.Eventually(t, "the new record of "+code, func() bool {
			got, ok := gw.Directory().Registered(code)
			return ok && got.Version == 2
		})
	}
}

// TestGateway_RevokedAdministratorAtRestart: the entries of an
// administrator revoked while the gateway was down are not believed at
// its restart, made from briefs or not, and their versions stay held: an
// older record of another administrator is refused, a newer one taken.
func TestGateway_RevokedAdministratorAtRestart(t *testing.T) {
	ax := testkit.NewAxis(t)
	ax.Gateway("vpcp", nil, [2]string{vpcp, "Văn phòng Chính phủ"})
	admin := ax.Admin
	revoked := testkit.NewAdmin(t, ax.CA, "*")
	ax.Admin = revoked
	for i := 40; i < 50; i++ {
		a := gateway.Agency{Code: fmt.Sprintf("000.00.00.G%02d", i), Name: fmt.Sprintf("Bộ số %d", i), Gateway: "bo", Version: 5, UpdatedAt: time.Now().UTC()}
		ax.PutRecord(gateway.DirectoryRecord{Agency: &a})
	}
	ax.Admin = admin
	dbPath := filepath.Join(t.TempDir(), "nghean.db")
	gw, closeGW := openNghean(t, ax, dbPath, zaptest.NewLogger(t))
	testkit.Eventually(t, "every entry kept with its brief", func() bool {
		rs, err := gw.Store().(*store.Store).DirectoryBriefs(t.Context(), "", 1000)
		return err == nil && len(rs) == 11
	})
	closeGW()

	// Two of the revoked administrator's briefs tampered with besides:
	// G45's under another name, G46's version raised to 1000, so that its
	// record would be held at a version no record ever reaches.
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	tamper := func(key string, edit func(a map[string]any)) {
		t.Helper()
		b := readBrief(t, db, key)
		a := b["agency"].(map[string]any)
		edit(a)
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		version, _ := a["version"].(float64)
		if _, err := db.Exec(`UPDATE directory_briefs SET version = ?, brief = ? WHERE key = ?`, int(version), raw, key); err != nil {
			t.Fatal(err)
		}
	}
	tamper("G45", func(a map[string]any) { a["name"] = "Cơ quan giả mạo" })
	tamper("G46", func(a map[string]any) { a["version"] = 1000 })
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	if err := ax.CA.RevokeCertificate(revoked.Certificate()); err != nil {
		t.Fatal(err)
	}
	crl, err := ax.CA.CRL()
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.InfoLevel)
	gw, closeGW = openNghean(t, ax, dbPath, zap.New(core), func(o *gateway.Options) { o.CRLs = []*x509.RevocationList{crl} })
	defer closeGW()
	loaded := logs.FilterMessage("directory loaded from the store").All()
	if len(loaded) != 1 || loaded[0].ContextMap()["notApplied"] != int64(10) {
		t.Errorf("the start applied the revoked administrator's entries: %+v", loaded)
	}
	for i := 40; i < 50; i++ {
		if _, ok := gw.Directory().Registered(fmt.Sprintf("000.00.00.G%02d", i)); ok {
			t.Errorf("G%02d, of the revoked administrator, is believed after the restart", i)
		}
	}
	if _, ok := gw.Directory().Registered(vpcp); !ok {
		t.Error("the other administrator's entry is not believed after the restart")
	}
	// Once every kept record is checked against its brief, the tampered
	// ones are not believed either, and are held at their records'
	// version, not their briefs'.
	testkit.Eventually(t, "the kept records checked", func() bool {
		return logs.FilterMessage("kept directory records checked").Len() > 0
	})
	for _, code := range []string{"000.00.00.G45", "000.00.00.G46"} {
		if a, ok := gw.Directory().Registered(code); ok {
			t.Errorf("%s, of the revoked administrator, its brief tampered with, is believed: %+v", code, a)
		}
	}
	g46 := gateway.Agency{Code: "000.00.00.G46", Name: "Bộ số 46 (mới)", Gateway: "bo", Version: 6, UpdatedAt: time.Now().UTC()}
	ax.PutRecord(gateway.DirectoryRecord{Agency: &g46})
	g45 := gateway.Agency{Code: "000.00.00.G45", Name: "Bộ số 45 (cũ)", Gateway: "bo", Version: 3, UpdatedAt: time.Now().UTC()}
	ax.PutRecord(gateway.DirectoryRecord{Agency: &g45})
	// An older record of G40 by the other administrator, then a newer
	// one of G41, then a new agency: once the last is in, the first was
	// refused (the bucket's updates come in order).
	older := gateway.Agency{Code: "000.00.00.G40", Name: "Bộ số 40 (cũ)", Gateway: "bo", Version: 1, UpdatedAt: time.Now().UTC()}
	ax.PutRecord(gateway.DirectoryRecord{Agency: &older})
	newer := gateway.Agency{Code: "000.00.00.G41", Name: "Bộ số 41 (mới)", Gateway: "bo", Version: 6, UpdatedAt: time.Now().UTC()}
	ax.PutRecord(gateway.DirectoryRecord{Agency: &newer})
	last := gateway.Agency{Code: "000.00.00.G60", Name: "Bộ số 60", Gateway: "bo", Version: 1, UpdatedAt: time.Now().UTC()}
	ax.PutRecord(gateway.DirectoryRecord{Agency: &last})
	testkit.Eventually(t, "the new agency", func() bool {
		_, ok := gw.Directory().Registered(last.Code)
		return ok
	})
	if a, ok := gw.Directory().Registered(older.Code); ok {
		t.Errorf("an older record replayed over the revoked administrator's: %+v", a)
	}
	if a, ok := gw.Directory().Registered(newer.Code); !ok || a.Version != 6 {
		t.Errorf("the newer record of G41: %+v, %v", a, ok)
	}
	if a, ok := gw.Directory().Registered(g46.Code); !ok || a.Version != 6 {
		t.Errorf("G46's version 6, newer than its record, not its tampered brief: %+v, %v", a, ok)
	}
	if a, ok := gw.Directory().Registered(g45.Code); ok {
		t.Errorf("an older record of G45 replayed over the revoked administrator's: %+v", a)
	}
}
