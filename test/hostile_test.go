package test

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/api"
	"github.com/lienthong/lienthong/gateway/bus"
	"github.com/lienthong/lienthong/signing"
)

// hostileTimeout bounds each wait of TestE2E_Hostile for something to
// travel or be counted.
const hostileTimeout = 30 * time.Second

// TestE2E_Hostile: a peer gateway with its own valid credentials and key
// attacks the axis (issue 14). The hub is three nats-servers with the
// production permissions "lienthong nats user" writes and one consumer
// per gateway and stream made by "lienthong nats setup -gateway" (the
// gateways bind); VPCP (G22), Bộ Y
// tế (G18) and Nghệ An (H41) are the victims, TP.HCM's gateway (H29, "hcm")
// the attacker: its NATS seed and its agency's signing key are the ones
// the harness issued to it. Interleaved with the attacks, a genuine
// exchange runs: G18 sends documents to H41, which answers 01 by itself,
// then 03 and 06 (and H41 one to VPCP).
//
//  1. Writing directory keys (G18, H29, gw.hcm) with its credentials.
//  2. Directory entries signed by its own agency key and by an
//     administrator of a CA the axis does not trust, written with the
//     administrator's credentials as if a write got through.
//  3. Older genuine entries of G18 written back over the newer one.
//  4. Its own consumer re-created with another filter through every
//     subject form of the consumer API, its catch-up consumer made on
//     VPCP's subject, its own consumer deleted, a consumer of another name,
//     VPCP's consumers read (a document of H41's waiting in it while
//     VPCP's gateway is down) or deleted, the packet streams read
//     directly, purged or deleted, their subjects and VPCP's inbox
//     subscribed to.
//  5. An unsigned, a self-signed and a wrongly-bound packet with G18's
//     From and the DocumentId G18 sends next, published to H41.
//  6. The same wrongly-bound packet while the administrator has, by
//     mistake, registered H29's certificate in G18's entry (run first,
//     as part of the administrator's acts).
//  7. A genuine document and genuine statuses, captured from the streams
//     and published again under new Nats-Msg-Ids.
//  8. A large document of G18's, waiting in LT_LARGE for H41 (stopped):
//     its chunks read, overwritten, deleted, purged, the stream changed.
//
// Each attack is refused or has no effect, checked on outcomes: the
// server's permission errors, the victims' /metrics, their API, the
// streams and consumers read with the administrator's credentials. At
// the end the victims' directory, documents, deliveries, events and
// packets are exactly as before the attacks (but for the genuine
// exchange, which arrived exactly once with its statuses), and "lienthong
// store check" finds each victim's store sound.
func TestE2E_Hostile(t *testing.T) {
	if testing.Short() {
		t.Skip("a hub of three nats-servers and four gateways; skipped with -short")
	}
	t.Parallel()
	start := time.Now()
	ctx := context.Background()
	ax := newClusterAxis(t)
	vpcp := ax.addGateway("vpcp", agVPCP)
	byt := ax.addGateway("byt", agBYT)
	nghean := ax.addGateway("nghean", agNgheAn)
	hcm := ax.addGateway("hcm", agHCM)
	ax.cluster.setup()
	ax.ready()
	t.Logf("hub of 3 and 4 gateways ready in %s", time.Since(start).Round(time.Millisecond))
	g22, g18, h41 := vpcp.client(agVPCP), byt.client(agBYT), nghean.client(agNgheAn)
	victims := []*gatewayProc{vpcp, byt, nghean}
	atk := newAttacker(t, ax, hcm)
	admin := newAdmin(t, ax)

	// A document of VPCP's that the attacks must leave as it is, and the
	// first document of the genuine exchange.
	day := time.Now()
	bystander := &letter{From: agVPCP, To: []agency{agBYT, agNgheAn}, Number: "2101", Notation: "VPCP-TH", Date: day,
		Subject: "V/v tổng hợp tình hình liên thông văn bản", Attachments: []envelope.Attachment{{Name: "tong-hop.txt", ContentType: "text/plain", Data: []byte("Số liệu tổng hợp")}}}
	docA := &letter{From: agBYT, To: []agency{agNgheAn}, Number: "301", Notation: "BYT-KHTC", Date: day,
		Subject: "V/v báo cáo công tác y tế dự phòng", Attachments: []envelope.Attachment{{Name: "bao-cao.txt", ContentType: "text/plain", Data: []byte("Báo cáo công tác y tế dự phòng")}}}
	// docB is sent after the forged packets that claim its DocumentId.
	docB := &letter{From: agBYT, To: []agency{agNgheAn}, Number: "302", Notation: "BYT-KHTC", Date: day,
		Subject: "V/v phân bổ kinh phí phòng chống dịch", Attachments: []envelope.Attachment{{Name: "kinh-phi.txt", ContentType: "text/plain", Data: []byte("Phân bổ kinh phí")}}}
	genuine := map[string]bool{docA.documentID(): true, docB.documentID(): true}

	byst := g22.mustSubmit(t, bystander.packet(t))
	waitState(t, g22, byst.ID, agBYT.Code, envelope.StateArrived, "01 from G18 for VPCP's document")
	waitState(t, g22, byst.ID, agNgheAn.Code, envelope.StateArrived, "01 from H41 for VPCP's document")
	accA := g18.mustSubmit(t, docA.packet(t))
	inA := waitIncoming(t, h41, accA.DocumentID)
	waitState(t, g18, accA.ID, agNgheAn.Code, envelope.StateArrived, "01 from H41 for document A")
	before := snapshot(t, victims, genuine)
	statusesBefore := metricValue(t, nghean, "lienthong_packets_sent_total", "kind", "status", "peer", "G18")

	// The administrator's own acts, before the attacks: a genuine record
	// of G18 is exported, then by mistake H29's certificate is registered
	// in G18's entry (attack 6 uses the mistake), exported again, and
	// corrected. Both exports are older records of G18 that attack 3
	// replays.
	bytCert := filepath.Join(ax.dir, "byt", "000_00_00_G18.crt")
	hcmCert := filepath.Join(ax.dir, "hcm", "000_00_00_H29.crt")
	recordV0 := admin.exportRecord(agBYT)
	admin.lienthong("directory", "put", "-code", agBYT.Code, "-name", agBYT.Name, "-gateway", "byt", "-cert", bytCert, "-cert", hcmCert)
	waitCertificates(t, victims, agBYT, 2)

	t.Run("6 H29's certificate registered for G18 by mistake", func(t *testing.T) {
		// A packet signed with H29's key, From G18: the certificate names
		// H29, so it signs for H29 only, whatever G18's entry lists.
		base := quarantineMetrics(t, nghean)
		forged := &letter{From: agBYT, To: []agency{agNgheAn}, Number: docB.Number, Notation: docB.Notation, Date: day,
			Subject: "V/v cung cấp danh sách cán bộ (giả danh Bộ Y tế)"}
		atk.publishEdoc(agNgheAn, atk.sign(t, atk.h29, forged.packet(t)))
		waitQuarantined(t, nghean, base, map[string]float64{"not-bound": 1})
		checkNotReceived(t, h41, forged)
	})

	recordV1 := admin.exportRecord(agBYT)
	admin.lienthong("directory", "put", "-code", agBYT.Code, "-name", agBYT.Name, "-gateway", "byt", "-cert", bytCert)
	waitCertificates(t, victims, agBYT, 1)
	recordV2 := admin.exportRecord(agBYT)
	if bytes.Equal(recordV0, recordV1) || bytes.Equal(recordV1, recordV2) {
		t.Fatal("the exports of G18's record did not change with its puts")
	}

	// The directory as the administrator left it, which the attacks
	// must not change.
	dirBefore := snapshot(t, victims, genuine)
	t.Logf("the directory's administrator done: %s", time.Since(start).Round(time.Millisecond))

	t.Run("1 writing the directory with TP.HCM's credentials", func(t *testing.T) {
		kv, err := atk.js.KeyValue(ctx, bus.BucketDirectory)
		if err != nil {
			t.Fatalf("TP.HCM's credentials cannot open the directory to read it: %v", err)
		}
		revisions := admin.directoryRevisions()
		keys := []string{"G18", "H29", gateway.GatewayKeyPrefix + "hcm"}
		var wg sync.WaitGroup
		written := make([]bool, len(keys))
		for i, key := range keys {
			wg.Go(func() {
				pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				defer cancel()
				_, err := kv.Put(pctx, key, []byte(`{"record":"e30=","signature":"AA==","chain":["AA=="]}`))
				written[i] = err == nil
			})
		}
		wg.Wait()
		for i, key := range keys {
			if written[i] {
				t.Errorf("TP.HCM's credentials wrote directory key %s", key)
			}
			atk.waitViolation(t, "publish", "$KV."+bus.BucketDirectory+"."+key)
		}
		if after := admin.directoryRevisions(); !maps.Equal(revisions, after) {
			t.Errorf("the directory's keys changed: %v, then %v", revisions, after)
		}
	})

	// The key of the rogue gateway record, and what it held before.
	var rogueGatewayKey string
	var gwRecord []byte
	t.Run("2 entries signed by TP.HCM's key and by another CA's administrator", func(t *testing.T) {
		// Even written with the administrator's credentials (as if a
		// write got through), the gateways ignore them.
		hcmEntry := gateway.DirectoryRecord{Agency: &gateway.Agency{Code: agBYT.Code, Name: agBYT.Name, Gateway: "hcm",
			Certificates: []string{string(atk.h29PEM)}, Version: math.MaxUint64 - 1, UpdatedAt: time.Now().UTC()}}
		data, err := json.Marshal(hcmEntry)
		if err != nil {
			t.Fatal(err)
		}
		// A signed record in every way but its signer: H29's agency
		// certificate, which chains to the axis's CA but is no
		// administrator's.
		sum := sha256.Sum256(append([]byte("lienthong directory record v1\n"), data...))
		sig, err := atk.h29Key.Sign(rand.Reader, sum[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		byHCM, err := json.Marshal(signing.SignedRecord{Record: data, Signature: sig, Chain: [][]byte{atk.h29.Certificate().Raw}})
		if err != nil {
			t.Fatal(err)
		}
		// An administrator ("*") made by a CA the axis does not trust.
		rogueCA, err := signing.InitCA(filepath.Join(ax.dir, "rogue-admin-ca"), signing.CAOptions{KeyBits: 2048, Name: "Quản trị trục liên thông"})
		if err != nil {
			t.Fatal(err)
		}
		rogue, err := rogueCA.Issue(signing.IssueRequest{Agency: agVPCP.Code, Name: "Quản trị trục liên thông", DirectoryScopes: []string{"*"}})
		if err != nil {
			t.Fatal(err)
		}
		rogueSigner, err := signing.NewSigner(rogue.Key, []*x509.Certificate{rogue.Certificate, rogueCA.Certificate()})
		if err != nil {
			t.Fatal(err)
		}
		_, byRogue, err := gateway.SignRecord(rogueSigner, hcmEntry)
		if err != nil {
			t.Fatal(err)
		}
		rogueGateway := gateway.DirectoryRecord{Gateway: &gateway.GatewayEntry{ID: "byt", Certificates: []string{string(atk.h29PEM)},
			Version: math.MaxUint64 - 1, UpdatedAt: time.Now().UTC()}}
		gwKey, byRogueGW, err := gateway.SignRecord(rogueSigner, rogueGateway)
		if err != nil {
			t.Fatal(err)
		}

		base := rejections(t, victims, gateway.RejectUnsigned)
		gwRecord = admin.get(gwKey)
		admin.put("G18", byHCM)
		admin.put("G18", byRogue)
		admin.put(gwKey, byRogueGW)
		waitRejections(t, victims, gateway.RejectUnsigned, base, 3)
		checkDirectory(t, victims, dirBefore)
		rogueGatewayKey = gwKey
	})

	t.Run("3 replaying older signed entries", func(t *testing.T) {
		base := rejections(t, victims, gateway.RejectStale)
		admin.put("G18", recordV0)
		admin.put("G18", recordV1)
		waitRejections(t, victims, gateway.RejectStale, base, 2)
		checkDirectory(t, victims, dirBefore)
	})

	// The administrator puts the directory's keys back as they were: the
	// genuine record of G18 again (the same bytes change nothing and are
	// not refused), and the rogue gateway record's key deleted, which the
	// gateways count as a deletion they ignore — after the record put
	// back, since they take the bucket's changes in order. (Had the
	// harness registered a record of gateway byt, it is put back
	// instead, then G18's again, which must change nothing either.)
	unsigned, stale := rejections(t, victims, gateway.RejectUnsigned), rejections(t, victims, gateway.RejectStale)
	deletions := rejections(t, victims, gateway.RejectDeletion)
	admin.put("G18", recordV2)
	switch {
	case rogueGatewayKey != "" && gwRecord == nil:
		admin.deleteKey(rogueGatewayKey)
		waitRejections(t, victims, gateway.RejectDeletion, deletions, 1)
	case rogueGatewayKey != "":
		admin.put(rogueGatewayKey, gwRecord)
		admin.put("G18", recordV2)
	}
	for reason, base := range map[string]map[string]float64{gateway.RejectUnsigned: unsigned, gateway.RejectStale: stale} {
		if now := rejections(t, victims, reason); !maps.Equal(now, base) {
			t.Errorf("directory updates refused (%s) once the genuine record was put back: %v, were %v", reason, now, base)
		}
	}
	checkDirectory(t, victims, dirBefore)

	// The genuine exchange goes on: H41 accepts document A.
	h41.mustPostStatus(t, inA.ID, api.StatusBody{Code: "03", Staff: envelope.StaffInfo{Department: "Văn phòng UBND tỉnh", Staff: "Nguyễn Văn An"}})
	waitState(t, g18, accA.ID, agNgheAn.Code, envelope.StateAccepted, "03 from H41 for document A")

	// A document from H41 waits for VPCP, whose gateway is down, in its
	// consumer: what attack 4 tries to read.
	docW := &letter{From: agNgheAn, To: []agency{agVPCP}, Number: "88", Notation: "UBND-VX", Date: day,
		Subject: "V/v báo cáo tình hình dịch bệnh trên địa bàn tỉnh", Attachments: []envelope.Attachment{{Name: "bao-cao.txt", ContentType: "text/plain", Data: []byte("Tình hình dịch bệnh")}}}
	genuine[docW.documentID()] = true
	vpcp.stop()
	accW := h41.mustSubmit(t, docW.packet(t))
	waitFor(t, hostileTimeout, "H41 publishing its document to VPCP", func() (bool, string) {
		d, err := h41.get(ctx, accW.ID)
		if err != nil {
			return false, err.Error()
		}
		return d.Deliveries[0].Transport == gateway.Sent, string(d.Deliveries[0].Transport)
	})

	t.Run("4 consumers and streams", func(t *testing.T) {
		consumersBefore := admin.consumers()
		vpcpBefore := admin.consumerInfo(bus.StreamEdoc, "gwc_edoc_vpcp")
		create := func(stream, name, filter string) []byte {
			cfg := map[string]any{"filter_subject": filter, "deliver_policy": "all", "ack_policy": "explicit"}
			if name != "" {
				cfg["durable_name"], cfg["name"] = name, name
			}
			b, err := json.Marshal(map[string]any{"stream_name": stream, "config": cfg})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		e, s := bus.StreamEdoc, bus.StreamStatus
		next, get := []byte(`{"batch":1,"expires":1000000000}`), []byte(`{"seq":1}`)
		requests := []request{
			// Its own consumer with another filter, through every form
			// of the API's subject: nats-server takes the filter from
			// the body, checking it against the subject only when the
			// subject carries one.
			{"$JS.API.CONSUMER.CREATE." + e + ".gwc_edoc_hcm", create(e, "gwc_edoc_hcm", "lt.edoc.G22")},
			{"$JS.API.CONSUMER.CREATE." + e + ".gwc_edoc_hcm.lt.edoc.G22", create(e, "gwc_edoc_hcm", "lt.edoc.G22")},
			{"$JS.API.CONSUMER.CREATE." + e + ".gwc_edoc_hcm.lt.edoc.>", create(e, "gwc_edoc_hcm", "lt.edoc.>")},
			{"$JS.API.CONSUMER.DURABLE.CREATE." + e + ".gwc_edoc_hcm", create(e, "gwc_edoc_hcm", "lt.edoc.G22")},
			{"$JS.API.CONSUMER.CREATE." + s + ".gwc_status_hcm", create(s, "gwc_status_hcm", "lt.status.G22")},
			{"$JS.API.CONSUMER.CREATE." + s + ".gwc_status_hcm.lt.status.>", create(s, "gwc_status_hcm", "lt.status.>")},
			// Its own catch-up consumer, made on another's subject
			// from the start; its own gateway consumer deleted (an
			// administrator's assignment would then make it afresh).
			{"$JS.API.CONSUMER.CREATE." + e + ".gwu_edoc_hcm", create(e, "gwu_edoc_hcm", "lt.edoc.G22")},
			{"$JS.API.CONSUMER.CREATE." + e + ".gwu_edoc_hcm.lt.edoc.G22", create(e, "gwu_edoc_hcm", "lt.edoc.G22")},
			{"$JS.API.CONSUMER.DELETE." + e + ".gwc_edoc_hcm", nil},
			// A consumer of another name, or none.
			{"$JS.API.CONSUMER.CREATE." + e + ".hcm_spy", create(e, "hcm_spy", "lt.edoc.G22")},
			{"$JS.API.CONSUMER.CREATE." + e + ".hcm_spy.lt.edoc.G22", create(e, "hcm_spy", "lt.edoc.G22")},
			{"$JS.API.CONSUMER.DURABLE.CREATE." + e + ".hcm_spy", create(e, "hcm_spy", "lt.edoc.G22")},
			{"$JS.API.CONSUMER.CREATE." + e, create(e, "", "lt.edoc.G22")},
			// VPCP's consumers: read, delete.
			{"$JS.API.CONSUMER.MSG.NEXT." + e + ".gwc_edoc_vpcp", next},
			{"$JS.API.CONSUMER.MSG.NEXT." + s + ".gwc_status_vpcp", next},
			{"$JS.API.CONSUMER.DELETE." + e + ".gwc_edoc_vpcp", nil},
			{"$JS.API.CONSUMER.MSG.NEXT." + e + ".gwu_edoc_vpcp", next},
			{"$JS.API.CONSUMER.DELETE." + e + ".gwu_edoc_vpcp", nil},
			// The packet streams, directly.
			{"$JS.API.STREAM.MSG.GET." + e, get},
			{"$JS.API.STREAM.MSG.GET." + s, get},
			{"$JS.API.DIRECT.GET." + e, get},
			{"$JS.API.DIRECT.GET." + s, get},
			{"$JS.API.DIRECT.GET." + e + ".lt.edoc.G22", nil},
			{"$JS.API.STREAM.PURGE." + e, nil},
			{"$JS.API.STREAM.DELETE." + s, nil},
		}
		atk.refused(t, requests)
		for _, subject := range []string{"lt.edoc.>", "lt.edoc.G22", "lt.status.>", "_INBOX_vpcp.>", "_INBOX.>"} {
			if _, err := atk.nc.SubscribeSync(subject); err != nil {
				t.Fatal(err)
			}
			atk.nc.Flush()
			atk.waitViolation(t, "subscription", subject)
		}
		// Its own consumers keep their filters; nothing else changed.
		for stream, filter := range map[string]string{e: "lt.edoc.H29", s: "lt.status.H29"} {
			name := "gwc_edoc_hcm"
			if stream == s {
				name = "gwc_status_hcm"
			}
			c, err := atk.js.Consumer(ctx, stream, name)
			if err != nil {
				t.Errorf("TP.HCM cannot read its own consumer %s: %v", name, err)
				continue
			}
			if f := filtersOf(c.CachedInfo().Config); !slices.Equal(f, []string{filter}) {
				t.Errorf("TP.HCM's consumer %s is filtered to %q, want %s", name, f, filter)
			}
		}
		if after := admin.consumers(); !slices.Equal(consumersBefore, after) {
			t.Errorf("the consumers changed: %v, then %v", consumersBefore, after)
		}
		if vpcpBefore.NumPending != 1 {
			t.Errorf("VPCP's consumer has %d messages waiting, want H41's document", vpcpBefore.NumPending)
		}
		vpcpAfter := admin.consumerInfo(bus.StreamEdoc, "gwc_edoc_vpcp")
		// (Its stream sequences may move on past others' messages; what
		// it delivered, to anyone, may not.)
		if vpcpAfter.Delivered.Consumer != vpcpBefore.Delivered.Consumer || vpcpAfter.AckFloor.Consumer != vpcpBefore.AckFloor.Consumer ||
			vpcpAfter.NumAckPending != 0 || vpcpAfter.NumRedelivered != vpcpBefore.NumRedelivered || vpcpAfter.NumPending != vpcpBefore.NumPending {
			t.Errorf("VPCP's consumer delivered to someone: delivered %d, acknowledged %d, then %d, %d with %d pending",
				vpcpBefore.Delivered.Consumer, vpcpBefore.AckFloor.Consumer, vpcpAfter.Delivered.Consumer, vpcpAfter.AckFloor.Consumer, vpcpAfter.NumAckPending)
		}
	})

	// VPCP comes back and gets H41's document, once.
	vpcp.restart()
	waitIncoming(t, g22, docW.documentID())
	waitState(t, h41, accW.ID, agVPCP.Code, envelope.StateArrived, "01 from VPCP for H41's document")
	if n := countIncoming(t, g22, docW.documentID()); n != 1 {
		t.Errorf("H41's document is %d times at VPCP, want once", n)
	}

	t.Run("5 unsigned, self-signed and wrongly-bound packets with G18's From", func(t *testing.T) {
		rogueCA, err := signing.InitCA(filepath.Join(ax.dir, "rogue-ca"), signing.CAOptions{KeyBits: 2048, Name: "CA chuyên dùng Chính phủ"})
		if err != nil {
			t.Fatal(err)
		}
		rogueG18, err := rogueCA.Issue(signing.IssueRequest{Agency: agBYT.Code, Name: agBYT.Name})
		if err != nil {
			t.Fatal(err)
		}
		selfSigner, err := signing.NewSigner(rogueG18.Key, []*x509.Certificate{rogueG18.Certificate, rogueCA.Certificate()})
		if err != nil {
			t.Fatal(err)
		}
		// Each claims docB's DocumentId, which G18 sends afterwards.
		forged := &letter{From: agBYT, To: []agency{agNgheAn}, Number: docB.Number, Notation: docB.Notation, Date: day,
			Subject: "V/v thu hồi công văn (giả danh Bộ Y tế)"}
		if forged.documentID() != docB.documentID() {
			t.Fatalf("the forged DocumentId %s is not docB's %s", forged.documentID(), docB.documentID())
		}
		base := quarantineMetrics(t, nghean)
		unsigned := forged.packet(t)
		atk.publishEdoc(agNgheAn, unsigned)
		atk.publishEdoc(agNgheAn, atk.sign(t, selfSigner, unsigned))
		atk.publishEdoc(agNgheAn, atk.sign(t, atk.h29, unsigned))
		waitQuarantined(t, nghean, base, map[string]float64{"missing": 1, "untrusted": 1, "not-bound": 1})
		checkNotReceived(t, h41, forged)

		// G18 now sends the document whose DocumentId they claimed: it
		// arrives, and G18 sees 01, not a refusal.
		accB := g18.mustSubmit(t, docB.packet(t))
		if accB.DocumentID != forged.documentID() {
			t.Fatalf("docB accepted as %s", accB.DocumentID)
		}
		in := waitIncoming(t, h41, accB.DocumentID)
		if in.Verdict.Outcome != "valid" || in.Subject != docB.Subject {
			t.Errorf("docB at H41: verdict %q, subject %q", in.Verdict.Outcome, in.Subject)
		}
		waitState(t, g18, accB.ID, agNgheAn.Code, envelope.StateArrived, "01 from H41 for docB")
	})

	// The genuine exchange: 06 for A, 03 then 06 for B.
	accB := outgoing(t, g18, docB.documentID())
	inB := waitIncoming(t, h41, docB.documentID())
	h41.mustPostStatus(t, inA.ID, api.StatusBody{Code: "06", Description: "Đã xử lý xong"})
	h41.mustPostStatus(t, inB.ID, api.StatusBody{Code: "03"})
	waitState(t, g18, accA.ID, agNgheAn.Code, envelope.StateDone, "06 from H41 for document A")
	waitState(t, g18, accB.ID, agNgheAn.Code, envelope.StateAccepted, "03 from H41 for docB")
	h41.mustPostStatus(t, inB.ID, api.StatusBody{Code: "06"})
	waitState(t, g18, accB.ID, agNgheAn.Code, envelope.StateDone, "06 from H41 for docB")

	t.Run("7 replaying a captured packet and statuses", func(t *testing.T) {
		edoc := admin.capture(bus.StreamEdoc, "lt.edoc.H41", func(p *envelope.Packet) bool {
			return p.Edoc != nil && p.Edoc.Header.DocumentID == docA.documentID()
		})
		var statuses []*jetstream.RawStreamMsg
		for _, code := range []envelope.StatusCode{"01", "03"} {
			statuses = append(statuses, admin.capture(bus.StreamStatus, "lt.status.G18", func(p *envelope.Packet) bool {
				return p.Status != nil && p.Status.ResponseFor.DocumentID == docA.documentID() && p.Status.StatusCode == code
			}))
		}
		aBefore, inABefore := g18.mustGet(t, accA.ID), h41.mustGet(t, inA.ID)
		dupEdoc := metricValue(t, nghean, "lienthong_packets_received_total", "kind", "edoc", "outcome", "duplicate", "peer", "G18")
		seenStatus := metricValue(t, byt, "lienthong_packets_received_total", "kind", "status", "peer", "H41")
		atk.replay(edoc)
		for _, m := range statuses {
			atk.replay(m)
		}
		waitFor(t, hostileTimeout, "H41 deduplicating the replayed document", func() (bool, string) {
			v := metricValue(t, nghean, "lienthong_packets_received_total", "kind", "edoc", "outcome", "duplicate", "peer", "G18")
			return v == dupEdoc+1, fmt.Sprintf("%v duplicates, want %v", v, dupEdoc+1)
		})
		waitFor(t, hostileTimeout, "G18 settling the replayed statuses", func() (bool, string) {
			v := metricValue(t, byt, "lienthong_packets_received_total", "kind", "status", "peer", "H41")
			return v == seenStatus+2, fmt.Sprintf("%v statuses settled, want %v", v, seenStatus+2)
		})
		if n := metricValue(t, byt, "lienthong_packets_received_total", "kind", "status", "outcome", "ok", "peer", "H41"); n != 6 {
			t.Errorf("G18 applied %v statuses from H41, want the 6 genuine ones (01, 03, 06 for each document)", n)
		}
		checkSame(t, "document A at H41", inABefore, h41.mustGet(t, inA.ID))
		// At G18 the document, its delivery and its events are as they
		// were: a status packet already recorded is a duplicate, whatever
		// its Nats-Msg-Id, and is neither stored nor recorded again.
		if n := metricValue(t, byt, "lienthong_packets_received_total", "kind", "status", "outcome", "duplicate", "peer", "H41"); n < 2 {
			t.Errorf("G18 counted %v duplicate statuses from H41, want the 2 replays", n)
		}
		checkSame(t, "document A at G18", aBefore, g18.mustGet(t, accA.ID))
	})

	// The genuine exchange arrived exactly once, with its statuses.
	for _, l := range []*letter{docA, docB} {
		if n := countIncoming(t, h41, l.documentID()); n != 1 {
			t.Errorf("%s is %d times at H41, want once", l.documentID(), n)
		}
		d := waitIncoming(t, h41, l.documentID())
		if d.From != agBYT.Code || d.Verdict.Outcome != "valid" || d.Subject != l.Subject || d.Deliveries[0].State != envelope.StateDone {
			t.Errorf("%s at H41: from %s, verdict %s, subject %q, state %s", l.documentID(), d.From, d.Verdict.Outcome, d.Subject, d.Deliveries[0].State)
		}
		out := g18.mustGet(t, outgoing(t, g18, l.documentID()).ID)
		var codes []string
		refused := 0
		for _, ev := range out.Events {
			switch ev.Kind {
			case gateway.EventStatus:
				codes = append(codes, string(ev.StatusCode))
			case gateway.EventStatusRefused:
				refused++
			}
		}
		if !slices.Equal(codes, []string{"01", "03", "06"}) {
			t.Errorf("%s at G18: statuses %v, want 01 03 06", l.documentID(), codes)
		}
		// None was refused: the replays of attack 7 were duplicates.
		if refused != 0 {
			t.Errorf("%s at G18: %d statuses refused, want none: %+v", l.documentID(), refused, out.Events)
		}
	}
	// H41 sent G18 the statuses of the genuine exchange and nothing
	// else: no 02 to any forged packet. (Read before attack 8 restarts
	// it, which resets its counters.)
	if n := metricValue(t, nghean, "lienthong_packets_sent_total", "kind", "status", "peer", "G18"); n != statusesBefore+5 {
		t.Errorf("H41 sent %v statuses to G18 since the attacks began, want the 5 genuine ones (03 for A, 01 03 06 for B, 06 for A)", n-statusesBefore)
	}

	t.Run("9 JetStream's answers aimed at others' subjects", func(t *testing.T) {
		// nats-server does not check a client's permissions on the reply
		// subject of a request: JetStream answers there, inside the
		// account, and a stream whose subjects match stores the answer.
		// TP.HCM aims the answer to a request it may make at G18's
		// directory key, and writes its own heartbeat with a roll-up
		// header that would empty the bucket.
		kv, err := admin.js.KeyValue(ctx, bus.BucketDirectory)
		if err != nil {
			t.Fatal(err)
		}
		g18Rev := func() uint64 {
			e, err := kv.Get(ctx, "G18")
			if err != nil {
				t.Fatalf("G18's directory key: %v", err)
			}
			return e.Revision()
		}
		revBefore := g18Rev()
		unsigned := map[string]float64{}
		for _, g := range victims {
			unsigned[g.id] = metricValue(t, g, "lienthong_directory_rejected_total", "reason", "unsigned")
		}
		if err := atk.nc.PublishRequest("$JS.API.DIRECT.GET.KV_"+bus.BucketGateways+".$KV."+bus.BucketGateways+".hcm", "$KV."+bus.BucketDirectory+".G18", nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, hostileTimeout, "the answer stored under G18's key", func() (bool, string) {
			r := g18Rev()
			return r != revBefore, fmt.Sprintf("revision %d", r)
		})
		// The running victims ignore it; Nghệ An, restarted, keeps the
		// entry it applied before (its store), whatever the bucket holds.
		for _, g := range victims {
			waitFor(t, hostileTimeout, g.id+" refusing the injected record", func() (bool, string) {
				v := metricValue(t, g, "lienthong_directory_rejected_total", "reason", "unsigned")
				return v == unsigned[g.id]+1, fmt.Sprintf("%v unsigned, want %v", v, unsigned[g.id]+1)
			})
		}
		nghean.stop()
		nghean.restart()
		waitFor(t, hostileTimeout, "Nghệ An's directory after its restart", func() (bool, string) {
			d, err := h41.directory(ctx)
			if err != nil {
				return false, err.Error()
			}
			for _, e := range d {
				if e.Code == agBYT.Code {
					return e.Gateway == "byt", "G18 on " + e.Gateway
				}
			}
			return false, "G18 not listed"
		})
		// The bucket keeps the junk under G18's key until the
		// administrator puts the record again; every victim, restarted or
		// not, keeps G18's entry as it was (checked at the end).

		// A roll-up through TP.HCM's own heartbeat key is refused: the
		// other gateways' heartbeats stay.
		beat := &nats.Msg{Subject: "$KV." + bus.BucketGateways + ".hcm", Header: nats.Header{"Nats-Rollup": []string{"all"}}, Data: []byte(`{"gateway":"hcm"}`)}
		if _, err := atk.js.PublishMsg(ctx, beat); err == nil {
			t.Error("TP.HCM's heartbeat with a roll-up was taken")
		}
		gws, err := admin.js.KeyValue(ctx, bus.BucketGateways)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"vpcp", "byt", "nghean"} {
			if _, err := gws.Get(ctx, id); err != nil {
				t.Errorf("%s's heartbeat after TP.HCM's roll-up: %v", id, err)
			}
		}
	})

	t.Run("8 large packets: purge, delete, overwrite, read", func(t *testing.T) {
		// Nghệ An's gateway is down: a large document from G18 waits for
		// it in the hub's LT_LARGE while TP.HCM goes at it.
		nghean.stop()
		attachment := make([]byte, 700<<10)
		rand.Read(attachment)
		large := &letter{From: agBYT, To: []agency{agNgheAn}, Number: "303", Notation: "BYT-KHTC", Date: day,
			Subject:     "V/v gửi hồ sơ dự toán (bản quét)",
			Attachments: []envelope.Attachment{{Name: "du-toan.pdf", ContentType: "application/pdf", Data: attachment}}}
		genuine[large.documentID()] = true
		acc := g18.mustSubmit(t, large.packet(t))
		waitFor(t, hostileTimeout, "G18 publishing the large document", func() (bool, string) {
			d, err := g18.get(ctx, acc.ID)
			if err != nil {
				return false, err.Error()
			}
			return d.Deliveries[0].Transport == gateway.Sent, string(d.Deliveries[0].Transport)
		})
		r, err := g18.do(ctx, http.MethodGet, "/api/v1/documents/"+acc.ID+"/packet", "", nil, nil)
		if err != nil || r.Status != http.StatusOK {
			t.Fatalf("G18's packet: %v %v", r, err)
		}
		packet := r.Body

		// What TP.HCM may see: the subjects of G18's chunks, and the
		// chunks themselves, which are noise without the key that only
		// Nghệ An's message carries.
		s, err := atk.js.Stream(ctx, bus.StreamLarge)
		if err != nil {
			t.Fatalf("TP.HCM cannot look up %s: %v", bus.StreamLarge, err)
		}
		info, err := s.Info(ctx, jetstream.WithSubjectFilter(bus.LargeSubjectPrefix+"byt.>"))
		if err != nil {
			t.Fatal(err)
		}
		var subjects []string
		for subj := range info.State.Subjects {
			subjects = append(subjects, subj)
		}
		slices.Sort(subjects)
		if want := (len(packet) + bus.LargeChunk - 1) / bus.LargeChunk; len(subjects) != want {
			t.Fatalf("G18's large packet (%d bytes) is %d chunks in %s, want %d: %v", len(packet), len(subjects), bus.StreamLarge, want, subjects)
		}
		chunks := admin.chunks(subjects)
		for i, subj := range subjects {
			m, err := s.GetLastMsgForSubject(ctx, subj)
			if err != nil {
				t.Errorf("TP.HCM reading chunk %s: %v", subj, err)
				continue
			}
			plain := packet[min(len(packet), i*bus.LargeChunk):min(len(packet), (i+1)*bus.LargeChunk)]
			if bytes.Equal(m.Data, plain) || bytes.Contains(m.Data, []byte("edXML")) || bytes.Contains(m.Data, attachment[:64]) {
				t.Errorf("chunk %s as TP.HCM reads it is G18's packet in clear", subj)
			}
		}

		// Overwrite, delete, purge: refused.
		garbage := make([]byte, len(chunks[subjects[0]].Data))
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		if _, err := atk.js.PublishMsg(pctx, &nats.Msg{Subject: subjects[0], Data: garbage}); err == nil {
			t.Errorf("TP.HCM's credentials overwrote %s", subjects[0])
		}
		cancel()
		atk.waitViolation(t, "publish", subjects[0])
		l := bus.StreamLarge
		atk.refused(t, []request{
			{"$JS.API.STREAM.PURGE." + l, []byte(`{"filter":"` + bus.LargeSubjectPrefix + `byt.>"}`)},
			{"$JS.API.STREAM.MSG.DELETE." + l, []byte(`{"seq":` + strconv.FormatUint(chunks[subjects[0]].Sequence, 10) + `,"no_erase":true}`)},
			{"$JS.API.STREAM.UPDATE." + l, []byte(`{"name":"` + l + `","subjects":["` + bus.LargeSubjectPrefix + `>"],"deny_delete":false,"deny_purge":false}`)},
			{"$JS.API.STREAM.DELETE." + l, nil},
			// The key is in the message to Nghệ An, out of reach.
			{"$JS.API.DIRECT.GET." + bus.StreamEdoc + ".lt.edoc.H41", nil},
		})
		// JetStream's answer to a request TP.HCM may make, aimed at G18's
		// first chunk: the stream takes no second message on a chunk's
		// subject.
		last := "$JS.API.DIRECT.GET." + l + "." + subjects[len(subjects)-1]
		if err := atk.nc.PublishRequest(last, subjects[0], nil); err != nil {
			t.Fatal(err)
		}
		// The same request answered to TP.HCM: once it is, the one
		// before it was answered too.
		if _, err := atk.nc.Request(last, nil, 5*time.Second); err != nil {
			t.Fatalf("TP.HCM reading a chunk: %v", err)
		}
		if after := admin.chunks(subjects); !maps.EqualFunc(chunks, after, func(a, b *jetstream.RawStreamMsg) bool {
			return a.Sequence == b.Sequence && bytes.Equal(a.Data, b.Data)
		}) {
			t.Errorf("G18's chunks in %s changed", bus.StreamLarge)
		}

		// Nghệ An comes back and gets the document intact.
		nghean.restart()
		in := waitIncoming(t, h41, large.documentID())
		if in.Verdict.Outcome != "valid" {
			t.Errorf("the large document at H41: verdict %+v", in.Verdict)
		}
		r, err = h41.do(ctx, http.MethodGet, "/api/v1/documents/"+in.ID+"/attachments/1", "", nil, nil)
		if err != nil || r.Status != http.StatusOK || !bytes.Equal(r.Body, attachment) {
			t.Errorf("the large document's attachment at H41: %v, not the %d bytes sent", r, len(attachment))
		}
		waitState(t, g18, acc.ID, agNgheAn.Code, envelope.StateArrived, "01 from H41 for the large document")
		if n := countIncoming(t, h41, large.documentID()); n != 1 {
			t.Errorf("the large document is %d times at H41, want once", n)
		}
	})

	// Nothing else changed at the victims.
	after := snapshot(t, victims, genuine)
	for _, g := range victims {
		checkSame(t, g.id+"'s directory", dirBefore[g.id].Directory, after[g.id].Directory)
		checkSame(t, g.id+"'s documents", before[g.id].Documents, after[g.id].Documents)
	}
	for _, g := range victims {
		if n := g.countLines("Permissions Violation"); n > 0 {
			t.Errorf("gateway %s hit %d permissions violations", g.id, n)
		}
		g.stop()
		db := filepath.Join(ax.dir, g.id, "data", "lienthong.db")
		if out, err := exec.Command(lienthongBin, "store", "check", "-db", db).CombinedOutput(); err != nil {
			t.Errorf("lienthong store check -db %s: %v\n%s", db, err, out)
		}
	}
	t.Logf("TestE2E_Hostile: %s in all", time.Since(start).Round(time.Millisecond))
}

// ---------------------------------------------------------------------------
// The attacker

// attacker is TP.HCM's gateway turned hostile: its NATS credentials and
// its agency's signing key.
type attacker struct {
	t      *testing.T
	nc     *nats.Conn
	js     jetstream.JetStream
	h29    *signing.Signer
	h29Key crypto.Signer
	h29PEM []byte
	seq    int

	mu   sync.Mutex
	errs []string // the server's asynchronous errors, in lower case
}

func newAttacker(t *testing.T, ax *axis, hcm *gatewayProc) *attacker {
	t.Helper()
	a := &attacker{t: t}
	nc, js, err := ax.cluster.connect(ax.cluster.seeds[hcm.id], nats.CustomInboxPrefix(bus.InboxPrefix(hcm.id)),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			a.mu.Lock()
			a.errs = append(a.errs, strings.ToLower(err.Error()))
			a.mu.Unlock()
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	a.nc, a.js = nc, js
	prefix := filepath.Join(hcm.dir, "000_00_00_H29")
	if a.h29Key, err = signing.LoadPrivateKey(prefix + ".key"); err != nil {
		t.Fatal(err)
	}
	certs, err := signing.LoadCertificates(prefix + ".crt")
	if err != nil {
		t.Fatal(err)
	}
	if a.h29, err = signing.NewSigner(a.h29Key, certs); err != nil {
		t.Fatal(err)
	}
	if a.h29PEM, err = os.ReadFile(prefix + ".crt"); err != nil {
		t.Fatal(err)
	}
	return a
}

// waitViolation waits for the server's permissions violation for a
// publish or subscription to subject, and fails the test (going on) if
// none comes.
func (a *attacker) waitViolation(t *testing.T, op, subject string) {
	t.Helper()
	want := strings.ToLower(fmt.Sprintf("permissions violation for %s to %q", op, subject))
	err := poll(5*time.Second, 100*time.Millisecond, func() (bool, string) {
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, e := range a.errs {
			if strings.Contains(e, want) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d errors, none about it", len(a.errs))
	})
	if err != nil {
		t.Errorf("the server did not refuse TP.HCM's %s to %s: %v", op, subject, err)
	}
}

// request is a request to NATS.
type request struct {
	subject string
	body    []byte
}

// refused sends the requests together with TP.HCM's credentials and
// checks that the server refused each: no answer, and a permissions
// violation.
func (a *attacker) refused(t *testing.T, requests []request) {
	t.Helper()
	answers := make([]*nats.Msg, len(requests))
	var wg sync.WaitGroup
	for i, r := range requests {
		wg.Go(func() {
			// A refused request gets no answer: they wait out their
			// timeout together.
			answers[i], _ = a.nc.Request(r.subject, r.body, 3*time.Second)
		})
	}
	wg.Wait()
	for i, r := range requests {
		if answers[i] != nil {
			t.Errorf("TP.HCM's credentials got an answer from %s: %.300s", r.subject, answers[i].Data)
		}
		a.waitViolation(t, "publish", r.subject)
	}
}

// sign signs packet with s.
func (a *attacker) sign(t *testing.T, s *signing.Signer, packet []byte) []byte {
	t.Helper()
	b, err := s.Sign(packet)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// publishEdoc publishes a packet to an agency's subject as a gateway
// does, which anyone may.
func (a *attacker) publishEdoc(to agency, packet []byte) {
	a.t.Helper()
	code, err := envelope.ParseAgencyCode(to.Code, envelope.CodeAny)
	if err != nil {
		a.t.Fatal(err)
	}
	a.seq++
	sum := sha256.Sum256(packet)
	msg := &nats.Msg{Subject: gateway.EdocSubjectPrefix + code.Tokens(), Header: nats.Header{}, Data: packet}
	msg.Header.Set(bus.HeaderSHA256, hex.EncodeToString(sum[:]))
	a.publish(msg, "hcm-forged-"+strconv.Itoa(a.seq))
}

// replay publishes a message captured from a stream again, under a new
// Nats-Msg-Id.
func (a *attacker) replay(m *jetstream.RawStreamMsg) {
	a.t.Helper()
	a.seq++
	msg := &nats.Msg{Subject: m.Subject, Header: nats.Header{}, Data: m.Data}
	for k, v := range m.Header {
		if k != jetstream.MsgIDHeader {
			msg.Header[k] = v
		}
	}
	a.publish(msg, "hcm-replay-"+strconv.Itoa(a.seq))
}

func (a *attacker) publish(msg *nats.Msg, id string) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id)); err != nil {
		a.t.Fatalf("TP.HCM publishing to %s: %v", msg.Subject, err)
	}
}

// ---------------------------------------------------------------------------
// The administrator

// hubAdmin is the hub's administrator: the NKey that "lienthong nats setup"
// uses, and the directory administrator's key.
type hubAdmin struct {
	t  *testing.T
	ax *axis
	nc *nats.Conn
	js jetstream.JetStream
}

func newAdmin(t *testing.T, ax *axis) *hubAdmin {
	t.Helper()
	nc, js, err := ax.cluster.connect(ax.cluster.admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return &hubAdmin{t: t, ax: ax, nc: nc, js: js}
}

// lienthong runs a "lienthong directory" command with the administrator's
// key and NATS credentials.
func (a *hubAdmin) lienthong(args ...string) string {
	a.t.Helper()
	key := filepath.Join(a.ax.ca.Dir(), adminFiles)
	args = append(args, "-url", a.ax.cluster.URLs(), "-nkey", a.ax.cluster.admin, "-ca", a.ax.cluster.ca)
	if args[1] == "put" || args[1] == "remove" {
		args = append(args, "-admin-key", key+".key", "-admin-cert", key+".crt")
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(lienthongBin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		a.t.Fatalf("lienthong %s: %v\n%s%s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.String()
}

// exportRecord returns the agency's record as "lienthong directory
// export" writes it.
func (a *hubAdmin) exportRecord(ag agency) []byte {
	a.t.Helper()
	code, err := envelope.ParseAgencyCode(ag.Code, envelope.CodeAny)
	if err != nil {
		a.t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(a.lienthong("directory", "export")))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var l struct {
			Key    string          `json:"key"`
			Record json.RawMessage `json:"record"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			a.t.Fatalf("directory export: %q: %v", sc.Text(), err)
		}
		if l.Key == code.Tokens() {
			return l.Record
		}
	}
	a.t.Fatalf("directory export has no record of %s", code.Tokens())
	return nil
}

// put writes a value under a directory key with the administrator's
// credentials.
func (a *hubAdmin) put(key string, value []byte) {
	a.t.Helper()
	kv := a.directory()
	if _, err := kv.Put(context.Background(), key, value); err != nil {
		a.t.Fatalf("put %s: %v", key, err)
	}
}

// get returns the value of a directory key; nil if there is none.
func (a *hubAdmin) get(key string) []byte {
	a.t.Helper()
	e, err := a.directory().Get(context.Background(), key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		a.t.Fatalf("get %s: %v", key, err)
	}
	return e.Value()
}

func (a *hubAdmin) deleteKey(key string) {
	a.t.Helper()
	if err := a.directory().Delete(context.Background(), key); err != nil {
		a.t.Fatalf("delete %s: %v", key, err)
	}
}

func (a *hubAdmin) directory() jetstream.KeyValue {
	a.t.Helper()
	kv, err := a.js.KeyValue(context.Background(), bus.BucketDirectory)
	if err != nil {
		a.t.Fatal(err)
	}
	return kv
}

// directoryRevisions returns the revision of every key of the directory.
func (a *hubAdmin) directoryRevisions() map[string]float64 {
	a.t.Helper()
	kv := a.directory()
	keys, err := kv.ListKeys(context.Background())
	if err != nil {
		a.t.Fatal(err)
	}
	out := map[string]float64{}
	for k := range keys.Keys() {
		e, err := kv.Get(context.Background(), k)
		if err != nil {
			a.t.Fatal(err)
		}
		out[k] = float64(e.Revision())
	}
	return out
}

// consumers lists the consumers of the packet streams.
func (a *hubAdmin) consumers() []string {
	a.t.Helper()
	var out []string
	for _, stream := range []string{bus.StreamEdoc, bus.StreamStatus} {
		s, err := a.js.Stream(context.Background(), stream)
		if err != nil {
			a.t.Fatal(err)
		}
		names := s.ConsumerNames(context.Background())
		for n := range names.Name() {
			out = append(out, stream+"/"+n)
		}
		if err := names.Err(); err != nil {
			a.t.Fatal(err)
		}
	}
	slices.Sort(out)
	return out
}

func (a *hubAdmin) consumerInfo(stream, name string) *jetstream.ConsumerInfo {
	a.t.Helper()
	c, err := a.js.Consumer(context.Background(), stream, name)
	if err != nil {
		a.t.Fatal(err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		a.t.Fatal(err)
	}
	return info
}

// chunks reads the last message of each subject of StreamLarge.
func (a *hubAdmin) chunks(subjects []string) map[string]*jetstream.RawStreamMsg {
	a.t.Helper()
	s, err := a.js.Stream(context.Background(), bus.StreamLarge)
	if err != nil {
		a.t.Fatal(err)
	}
	out := map[string]*jetstream.RawStreamMsg{}
	for _, subj := range subjects {
		m, err := s.GetLastMsgForSubject(context.Background(), subj)
		if err != nil {
			a.t.Fatalf("%s: %v", subj, err)
		}
		out[subj] = m
	}
	return out
}

// capture reads a stream's messages on subject and returns the one whose
// packet match accepts.
func (a *hubAdmin) capture(stream, subject string, match func(*envelope.Packet) bool) *jetstream.RawStreamMsg {
	a.t.Helper()
	ctx := context.Background()
	s, err := a.js.Stream(ctx, stream)
	if err != nil {
		a.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		a.t.Fatal(err)
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			a.t.Fatal(err)
		}
		if m.Subject != subject || strings.HasPrefix(m.Header.Get(jetstream.MsgIDHeader), "hcm-") {
			continue
		}
		if p, _, err := envelope.Parse(m.Data); err == nil && match(p) {
			return m
		}
	}
	a.t.Fatalf("no message on %s in %s matches", subject, stream)
	return nil
}

// ---------------------------------------------------------------------------
// What the victims show

// victimState is what a victim's API shows: its directory and every
// document with its deliveries and events.
type victimState struct {
	Directory []api.DirectoryEntry
	Documents map[string]*gateway.DocumentDetail // by local id
}

// snapshot reads each victim's directory and documents, leaving out the
// documents of the genuine exchange.
func snapshot(t *testing.T, victims []*gatewayProc, genuine map[string]bool) map[string]victimState {
	t.Helper()
	ctx := context.Background()
	out := map[string]victimState{}
	for _, g := range victims {
		c := g.client(g.agencies[0])
		var dir api.Directory
		if err := c.getJSON(ctx, "/api/v1/directory?certificates=1", &dir); err != nil {
			t.Fatal(err)
		}
		st := victimState{Directory: dir.Agencies, Documents: map[string]*gateway.DocumentDetail{}}
		docs, err := c.listAll(ctx, url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			if !genuine[d.DocumentID] {
				st.Documents[d.ID] = c.mustGet(t, d.ID)
			}
		}
		out[g.id] = st
	}
	return out
}

// checkSame fails the test if got, as JSON, is not want.
func checkSame(t *testing.T, what string, want, got any) {
	t.Helper()
	w, err := json.MarshalIndent(want, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	g, err := json.MarshalIndent(got, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w, g) {
		t.Errorf("%s changed:\nbefore %s\nafter  %s", what, w, g)
	}
}

// checkDirectory checks that every victim's directory is as before.
func checkDirectory(t *testing.T, victims []*gatewayProc, before map[string]victimState) {
	t.Helper()
	now := snapshot(t, victims, nil)
	for _, g := range victims {
		checkSame(t, g.id+"'s directory", before[g.id].Directory, now[g.id].Directory)
	}
}

// waitCertificates waits until every victim's directory lists n
// certificates for ag.
func waitCertificates(t *testing.T, victims []*gatewayProc, ag agency, n int) {
	t.Helper()
	for _, g := range victims {
		c := g.client(g.agencies[0])
		waitFor(t, hostileTimeout, fmt.Sprintf("%d certificates of %s at %s", n, ag.Code, g.id), func() (bool, string) {
			var d api.Directory
			if err := c.getJSON(context.Background(), "/api/v1/directory?certificates=1", &d); err != nil {
				return false, err.Error()
			}
			for _, e := range d.Agencies {
				if e.Code == ag.Code {
					return len(e.Certificates) == n, fmt.Sprintf("%d certificates", len(e.Certificates))
				}
			}
			return false, "not listed"
		})
	}
}

// outgoing returns the sender's document with documentID.
func outgoing(t *testing.T, c *apiClient, documentID string) gateway.DocumentSummary {
	t.Helper()
	docs, err := c.listAll(context.Background(), url.Values{"direction": {"out"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if d.DocumentID == documentID {
			return d
		}
	}
	t.Fatalf("no outgoing document %s", documentID)
	return gateway.DocumentSummary{}
}

// countIncoming counts the incoming documents at c with documentID.
func countIncoming(t *testing.T, c *apiClient, documentID string) int {
	t.Helper()
	docs, err := c.listAll(context.Background(), url.Values{"direction": {"in"}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range docs {
		if d.DocumentID == documentID {
			n++
		}
	}
	return n
}

// checkNotReceived checks that no incoming document at c has the forged
// letter's subject.
func checkNotReceived(t *testing.T, c *apiClient, forged *letter) {
	t.Helper()
	docs, err := c.listAll(context.Background(), url.Values{"direction": {"in"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if d.Subject == forged.Subject || d.DocumentID == forged.documentID() {
			t.Errorf("a forged packet was received as a document: %+v", d.Document)
		}
	}
}

// quarantineMetrics reads the counters waitQuarantined compares.
func quarantineMetrics(t *testing.T, g *gatewayProc) map[string]float64 {
	t.Helper()
	out := map[string]float64{
		"quarantined": metricValue(t, g, "lienthong_packets_received_total", "kind", "edoc", "outcome", "quarantined"),
		"statuses":    metricValue(t, g, "lienthong_packets_sent_total", "kind", "status"),
		"outbox":      metricValue(t, g, "lienthong_outbox_items"),
	}
	for _, v := range []string{"missing", "untrusted", "not-bound", "valid"} {
		out[v] = metricValue(t, g, "lienthong_signature_verdicts_total", "kind", "edoc", "verdict", v)
	}
	return out
}

// waitQuarantined waits until g has quarantined one packet more than in
// base for each verdict counted in verdicts, and checks that it
// answered none of them: no status sent or waiting to be.
func waitQuarantined(t *testing.T, g *gatewayProc, base, verdicts map[string]float64) {
	t.Helper()
	n := 0.0
	for _, c := range verdicts {
		n += c
	}
	waitFor(t, hostileTimeout, fmt.Sprintf("%v packets quarantined at %s", n, g.id), func() (bool, string) {
		now := quarantineMetrics(t, g)
		return now["quarantined"] >= base["quarantined"]+n, fmt.Sprintf("%v", now)
	})
	now := quarantineMetrics(t, g)
	if now["quarantined"] != base["quarantined"]+n {
		t.Errorf("%s quarantined %v packets, want %v", g.id, now["quarantined"]-base["quarantined"], n)
	}
	for v, c := range verdicts {
		if now[v] != base[v]+c {
			t.Errorf("%s: %v verdicts %s, want %v", g.id, now[v]-base[v], v, c)
		}
	}
	if now["valid"] != base["valid"] {
		t.Errorf("%s found %v of the forged packets valid", g.id, now["valid"]-base["valid"])
	}
	if now["statuses"] != base["statuses"] || now["outbox"] != 0 {
		t.Errorf("%s answered the forged packets: %v statuses sent, %v in its outbox", g.id, now["statuses"]-base["statuses"], now["outbox"])
	}
}

// rejections reads lienthong_directory_rejected_total{reason} on each
// gateway.
func rejections(t *testing.T, gws []*gatewayProc, reason string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, g := range gws {
		out[g.id] = metricValue(t, g, "lienthong_directory_rejected_total", "reason", reason)
	}
	return out
}

// waitRejections waits until each gateway has refused n more directory
// updates for reason than in base, and not more.
func waitRejections(t *testing.T, gws []*gatewayProc, reason string, base map[string]float64, n float64) {
	t.Helper()
	deadline := time.Now().Add(hostileTimeout)
	for _, g := range gws {
		// Not fatal: what the directory then shows says more.
		err := poll(time.Until(deadline), 100*time.Millisecond, func() (bool, string) {
			v := metricValue(t, g, "lienthong_directory_rejected_total", "reason", reason)
			return v >= base[g.id]+n, fmt.Sprintf("%v refused", v-base[g.id])
		})
		if err != nil {
			t.Errorf("%s refusing %v directory updates (%s): %v", g.id, n, reason, err)
		} else if v := metricValue(t, g, "lienthong_directory_rejected_total", "reason", reason); v != base[g.id]+n {
			t.Errorf("%s refused %v directory updates (%s), want %v", g.id, v-base[g.id], reason, n)
		}
	}
}

func add(m map[string]float64, n float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		out[k] = v + n
	}
	return out
}

// ---------------------------------------------------------------------------
// /metrics

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
var labelPair = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// metricValue sums the samples of name on the gateway's /metrics (its
// operations listener) whose labels include the pairs given; 0 when
// there is none.
func metricValue(t *testing.T, g *gatewayProc, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + g.opsAddress() + "/metrics")
	if err != nil {
		t.Fatalf("%s /metrics: %v", g.id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s /metrics: %s", g.id, resp.Status)
	}
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := sampleLine.FindStringSubmatch(sc.Text())
		if m == nil || m[1] != name {
			continue
		}
		have := map[string]string{}
		for _, p := range labelPair.FindAllStringSubmatch(m[2], -1) {
			have[p[1]] = p[2]
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				match = false
			}
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("%s /metrics: %q: %v", g.id, sc.Text(), err)
		}
		sum += v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s /metrics: %v", g.id, err)
	}
	return sum
}
