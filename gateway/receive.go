package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/signing"
)

// handle receives one message: verify → bind → parse → dedupe → store →
// status 01 back → ack. What cannot be accepted is quarantined and then
// acked: nothing is dropped but a packet addressed to an agency code that
// exists nowhere (addressedNowhere), and nothing is redelivered forever.
// A document whose signature is valid and bound to its sender but which is
// refused on its merits gets a 02 back; one whose signature is not is
// never answered, since its From and DocumentId are only claims (a 02
// signed on the strength of them would refuse, in this agency's name, a
// document its sender has not sent yet). Faults of this gateway (the
// store, the bus) leave the message unsettled or nak it, so that it comes
// again.
func (g *Gateway) handle(ctx context.Context, m Message) {
	log := g.log.With(zap.String("subject", m.Subject()), zap.String("msgId", m.MsgID()))
	if m.NumDelivered() > 1 {
		g.obs.Redelivered(m.Kind())
	}
	agency, ok := g.addressee(m.Subject())
	if !ok {
		// The bus settles itself what a gateway consumer brings of an
		// agency handed over or assigned ahead of the configuration
		// (bus's gate). What comes here is addressed under a delegated
		// subtree to an agency this gateway does not host — a code
		// anyone may publish to, made up or not — or a fault of the
		// bus. A code that exists nowhere is dropped (addressedNowhere);
		// anything else is kept aside, never lost, and never left to
		// hold the consumer.
		if g.addressedNowhere(m.Subject()) {
			g.dropUnknownRecipient(log, m)
			return
		}
		g.quarantine(ctx, log, m, nil, Quarantine{Entry: QuarantineEntry{Reason: "not-hosted",
			ReasonVI: "Gói tin gửi tới cơ quan không do cổng này phục vụ",
			ReasonEN: "the packet is addressed to an agency this gateway does not host"}})
		return
	}
	data, err := m.Packet(ctx)
	if err != nil {
		if m.NumDelivered() < 5 {
			log.Warn("packet not readable yet; will retry", zap.Error(err))
			g.nak(log, m, time.Duration(m.NumDelivered())*2*time.Second)
			return
		}
		g.quarantine(ctx, log, m, agency, Quarantine{Entry: QuarantineEntry{Reason: "unreadable",
			ReasonVI: "Không lấy được nội dung gói tin: " + err.Error(),
			ReasonEN: "the packet cannot be fetched: " + err.Error()}})
		return
	}
	if len(data) > 1<<20 {
		// Verifying and storing a large packet takes a while: restart
		// the ack wait.
		if err := m.InProgress(); err != nil {
			log.Warn("in progress", zap.Error(err))
		}
	}
	switch m.Kind() {
	case KindStatus:
		g.receiveStatus(ctx, log, m, agency, data)
	default:
		g.receiveEdoc(ctx, log, m, agency, data)
	}
}

// haveIncoming reports whether agency already received the document with
// this DocumentId from sender. A store error is logged and counts as no:
// the sender is then told of the refusal, which is the safe side.
func (g *Gateway) haveIncoming(ctx context.Context, log *zap.Logger, agency *HostedAgency, sender, documentID string) bool {
	if documentID == "" {
		return false
	}
	page, err := g.store.Documents(ctx, DocumentQuery{
		Agencies: []string{agency.Code.String()}, Direction: Incoming, From: sender, DocumentID: documentID, Limit: 1,
	})
	if err != nil {
		log.Error("look for the document already received", zap.Error(err))
		return false
	}
	return len(page.Documents) > 0
}

// addressee returns the hosted agency a subject is for.
func (g *Gateway) addressee(subject string) (*HostedAgency, bool) {
	tokens, ok := subjectTokens(subject)
	if !ok {
		return nil, false
	}
	a, ok := g.hosted[tokens]
	return a, ok
}

// subjectTokens returns the agency code tokens a packet's subject is
// addressed to (lt.edoc.H41.12 → H41.12), or false for a subject of
// neither packet stream.
func subjectTokens(subject string) (string, bool) {
	tokens, ok := strings.CutPrefix(subject, EdocSubjectPrefix)
	if !ok {
		tokens, ok = strings.CutPrefix(subject, StatusSubjectPrefix)
	}
	return tokens, ok
}

// addressedNowhere reports whether subject, which names no agency this
// gateway hosts, names an agency code that exists nowhere: the directory
// is the administrators' and does not know the code at all
// (Directory.Known: not an agency's code now, nor a former code of one,
// nor one taken out). Under a delegated subtree any sender may publish to
// any code, so such packets are what a sender makes up, as many as it
// likes, and keeping each in the quarantine would let it grow the store
// and the audit chain without bound. A code the directory knows (an
// agency just added under the subtree, not yet in the configuration) is
// not addressed nowhere: its packets are quarantined, for a person to
// look at. Nor is anything when the directory is not administered (it
// then knows only the hosted agencies, and cannot tell a made-up code
// from a real one), or when the subject is not a packet stream's (a
// fault of the bus, for a person too). The answer rests on the subject
// and on records the administrators signed, never on what the packet
// says.
func (g *Gateway) addressedNowhere(subject string) bool {
	tokens, ok := subjectTokens(subject)
	return ok && g.dir.Administered() && !g.dir.Known(tokens)
}

// dropUnknownRecipient terminates m, addressed to a code that exists
// nowhere (addressedNowhere), without keeping it: no quarantine row, no
// audit entry, and its packet is not even fetched. It is counted
// (ReceiveUnknownRecipient) and logged at Debug; a Warn at most every
// unknownRecipientWarnEvery says how many were dropped (see
// unknownRecipientLog), since a sender decides how many there are.
func (g *Gateway) dropUnknownRecipient(log *zap.Logger, m Message) {
	// Terminated, not nakked: it would come again to the same answer,
	// holding one of the consumer's ack-pending slots meanwhile.
	if err := m.Term(string(ReceiveUnknownRecipient)); err != nil {
		// It comes again after the ack wait and is dropped then.
		log.Debug("term", zap.Error(err))
	}
	g.obs.Received(m.Kind(), "", ReceiveUnknownRecipient)
	log.Debug("packet addressed to an agency code the directory does not know; dropped")
	if n, warn := g.unknownRecipients.note(time.Now()); warn {
		log.Warn("packets addressed to agency codes the directory does not know were dropped, not quarantined: made up by a sender, or the directory is behind the sender's",
			zap.Int("dropped", n), zap.Duration("window", unknownRecipientWarnEvery))
	}
}

// unknownRecipientWarnEvery is how often at most a gateway warns of the
// packets it dropped as addressed to codes that exist nowhere.
const unknownRecipientWarnEvery = time.Minute

// unknownRecipientLog throttles a gateway's warnings of packets dropped as
// addressed to codes that exist nowhere. The first drop is warned of at
// once, so that an operator sees it start; the drops of the following
// unknownRecipientWarnEvery are only counted, and the first drop after it
// warns again with their number. The drops at the end of a burst are
// therefore told only with the next one: the metric
// (ReceiveUnknownRecipient) has every one, each is logged at Debug, and
// the log stays at one line a minute whatever the sender publishes.
type unknownRecipientLog struct {
	mu     sync.Mutex
	warned time.Time // when the last warning was written
	n      int       // drops since, not warned of yet
}

// note counts one drop at now and reports whether to warn, and of how
// many drops (this one included).
func (l *unknownRecipientLog) note(now time.Time) (n int, warn bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if !l.warned.IsZero() && now.Sub(l.warned) < unknownRecipientWarnEvery {
		return 0, false
	}
	n, l.n, l.warned = l.n, 0, now
	return n, true
}

func (g *Gateway) receiveEdoc(ctx context.Context, log *zap.Logger, m Message, agency *HostedAgency, data []byte) {
	now := g.opts.Now().UTC()
	// refuse quarantines the packet; proven, when not nil, is the packet
	// as its valid and bound signature proves it, and its sender is told
	// why with a 02.
	refuse := func(reason, vi, en string, proven *envelope.Packet) {
		q := Quarantine{
			Packet: NewPacket{ID: NewID(now), Kind: KindEdoc, Data: data},
			Entry:  QuarantineEntry{Reason: reason, ReasonVI: vi, ReasonEN: en, ReceivedAt: now},
		}
		if proven != nil && proven.Edoc != nil {
			h := proven.Edoc.Header
			q.Entry.Sender = g.currentCode(h.From.OrganID)
			if g.haveIncoming(ctx, log, agency, q.Entry.Sender, h.DocumentID) {
				// A bad copy of a document already received (a replay,
				// a tampered duplicate): the sender's document did
				// arrive, so it is not refused.
				log.Warn("a bad copy of a document already received; no 02 sent", zap.String("documentId", h.DocumentID))
			} else {
				q.Reply = g.reply(log, agency, h, envelope.StatusRejected, "Từ chối tiếp nhận: "+vi, now)
			}
		}
		g.quarantine(ctx, log, m, agency, q)
	}
	vd, err := g.verify(ctx, data)
	if err != nil {
		log.Error("verify", zap.Error(err))
		g.nak(log, m, 5*time.Second)
		return
	}
	g.obs.Verdict(KindEdoc, vd.Outcome)
	if vd.Outcome != signing.Valid {
		// Not proven: kept for the operators, never answered.
		refuse("signature:"+string(vd.Outcome), "Chữ ký số không hợp lệ ("+string(vd.Outcome)+"): "+vd.ReasonVI, "signature "+string(vd.Outcome)+": "+vd.ReasonEN, nil)
		return
	}
	p := vd.Packet
	if p.Edoc == nil {
		refuse("wrong-stream", "Gói tin trạng thái gửi trên luồng văn bản", "a status packet on the document stream", p)
		return
	}
	// What the receive profile tolerates (a hub's TraceHeader without
	// OrganId, one agency under both its codes) is kept with the
	// document, for its reader.
	warns, err := envelope.ValidateWithWarnings(p, envelope.ProfileReceive())
	if err != nil {
		refuse("validation", "Gói tin không hợp lệ: "+err.Error(), "the packet is not valid: "+err.Error(), p)
		return
	}
	addressed := false
	for i, to := range p.Edoc.Header.To {
		c, err := envelope.ParseAgencyCode(to.OrganID, envelope.CodeAny)
		switch {
		case err != nil:
		case c.Equal(agency.Code):
			addressed = true
		case g.currentCode(to.OrganID) == agency.Code.String():
			// A former code of this agency (the 2025 reform): it is this
			// agency's document, and its reader is told.
			addressed = true
			warns = append(warns, oldCodeWarning(fmt.Sprintf("MessageHeader/To[%d]/OrganId", i+1), to.OrganID, agency.Code.String()))
		}
	}
	// A sender under a former code is stored under its code now, so that
	// lists, statuses and reports name one agency; the warning keeps both.
	from := p.Edoc.Header.From.OrganID
	if now := g.currentCode(from); now != canonicalCode(from) {
		warns = append(warns, oldCodeWarning("MessageHeader/From/OrganId", from, now))
	}
	if !addressed {
		refuse("not-addressed", "Cơ quan "+agency.Code.String()+" không có trong danh sách nơi nhận của văn bản",
			"the document does not list "+agency.Code.String()+" among its recipients", p)
		return
	}
	// The loop above and documentOf make one document of a packet that
	// lists this agency twice (under both forms of its code): one row,
	// one delivery, one 01.
	doc := documentOf(p, Incoming, agency.Code.String())
	doc.From = g.currentCode(from)
	doc.Verdict = verdictOf(vd)
	// The document's own warnings (a ZIP that does not open) first: a
	// sender's many trace headers must not push them out.
	doc.Warnings = keptWarnings(append(doc.Warnings, warns...))
	reply := g.reply(log, agency, p.Edoc.Header, envelope.StatusArrived, "", now)
	// The parsed packet (with its attachments: the small ones decoded,
	// the text of large ones) is not needed while the packet is stored.
	p, vd.Packet = nil, nil
	if reply == nil {
		g.nak(log, m, 5*time.Second)
		return
	}
	// The 01 handed to the dispatcher before the commit, which may wake
	// it.
	g.fresh.put(reply.Packet.ID, reply.Packet.Data)
	d, dup, err := g.store.ReceiveDocument(ctx, ReceiveDocument{
		Packet:   NewPacket{ID: NewID(now), Kind: KindEdoc, Data: data},
		Document: doc,
		MsgID:    m.MsgID(),
		Reply:    reply,
		At:       now,
	})
	if err != nil || dup {
		g.fresh.take(reply.Packet.ID) // not stored
	}
	if err != nil {
		log.Error("store the received document", zap.Error(err))
		g.nak(log, m, 5*time.Second)
		return
	}
	g.ack(ctx, log, m) // if it fails: redelivered, then deduplicated
	if dup {
		g.obs.Received(KindEdoc, d.From, ReceiveDuplicate)
	} else {
		g.obs.Received(KindEdoc, d.From, ReceiveOK)
		log.Info("document received", zap.String("document", d.ID), zap.String("documentId", d.DocumentID),
			zap.String("from", d.From), zap.String("to", d.Agency), zap.String("verdict", d.Verdict.Outcome),
			zap.Int("warnings", len(d.Warnings)))
		g.wakeDispatcher()
		g.notify(d.ID, d.Agency)
		g.notifyRelated(ctx, d)
	}
}

func (g *Gateway) receiveStatus(ctx context.Context, log *zap.Logger, m Message, agency *HostedAgency, data []byte) {
	now := g.opts.Now().UTC()
	quarantine := func(reason, vi, en string, sender string) {
		g.quarantine(ctx, log, m, agency, Quarantine{
			Packet: NewPacket{ID: NewID(now), Kind: KindStatus, Data: data},
			Entry:  QuarantineEntry{Reason: reason, ReasonVI: vi, ReasonEN: en, ReceivedAt: now, Sender: sender},
		})
	}
	vd, err := g.verify(ctx, data)
	if err != nil {
		log.Error("verify", zap.Error(err))
		g.nak(log, m, 5*time.Second)
		return
	}
	g.obs.Verdict(KindStatus, vd.Outcome)
	if vd.Outcome != signing.Valid {
		quarantine("signature:"+string(vd.Outcome), "Chữ ký số của gói tin trạng thái không hợp lệ: "+vd.ReasonVI, "the status packet's signature is "+string(vd.Outcome)+": "+vd.ReasonEN, "")
		return
	}
	st := vd.Packet.Status
	if st == nil {
		quarantine("wrong-stream", "Văn bản gửi trên luồng trạng thái", "a document on the status stream", "")
		return
	}
	if err := envelope.Validate(vd.Packet, envelope.ProfileReceive()); err != nil {
		quarantine("validation", "Gói tin trạng thái không hợp lệ: "+err.Error(), "the status packet is not valid: "+err.Error(), g.currentCode(st.From.OrganID))
		return
	}
	at, err := st.Timestamp.Time()
	if err != nil {
		at = now
	}
	res, err := g.store.ApplyStatus(ctx, ApplyStatus{
		Packet:      NewPacket{ID: NewID(now), Kind: KindStatus, Data: data},
		MsgID:       m.MsgID(),
		Agency:      agency.Code.String(),
		From:        g.currentCode(st.From.OrganID),
		DocumentID:  st.ResponseFor.DocumentID,
		Code:        st.StatusCode,
		Description: st.Description,
		Staff:       st.StaffInfo.Staff,
		At:          at.UTC(),
		RecordedAt:  now,
	})
	switch {
	case errors.Is(err, ErrNotFound):
		// A status can overtake its document (13 before the edoc): retry
		// for a while, then keep it aside.
		if m.NumDelivered() < DefaultUnknownDocumentRetries {
			g.nak(log, m, time.Duration(m.NumDelivered())*time.Second)
			return
		}
		quarantine("unknown-document", "Trạng thái về văn bản không có tại cổng này: "+st.ResponseFor.DocumentID,
			"a status about a document this gateway does not have: "+st.ResponseFor.DocumentID, g.currentCode(st.From.OrganID))
		return
	case err != nil:
		log.Error("store the status", zap.Error(err))
		g.nak(log, m, 5*time.Second)
		return
	}
	g.ack(ctx, log, m)
	if !res.Duplicate {
		// Applied or refused, the document has a new event.
		g.notify(res.Document, agency.Code.String())
	}
	from := g.currentCode(st.From.OrganID)
	fields := []zap.Field{zap.String("document", res.Document), zap.String("recipient", res.Recipient),
		zap.String("statusCode", string(st.StatusCode)), zap.String("state", res.State.String())}
	switch {
	case res.Duplicate:
		g.obs.Received(KindStatus, from, ReceiveDuplicate)
	case res.Refused != nil:
		g.obs.Received(KindStatus, from, ReceiveRefused)
		log.Warn("status refused by the lifecycle", append(fields, zap.Error(res.Refused))...)
	default:
		g.obs.Received(KindStatus, from, ReceiveOK)
		if st.StatusCode.SentBy() == envelope.PartyRecipient {
			g.obs.StatusApplied(st.StatusCode, from, now.Sub(res.Created))
		}
		log.Info("status received", fields...)
	}
}

// quarantine stores q (filling in the message's subject and id) and then
// terms the message; if storing fails the message is nakked, to come
// again.
func (g *Gateway) quarantine(ctx context.Context, log *zap.Logger, m Message, agency *HostedAgency, q Quarantine) {
	q.Entry.Subject, q.Entry.MsgID = m.Subject(), m.MsgID()
	if agency != nil {
		q.Entry.Recipient = agency.Code.String()
	}
	if q.Entry.ReceivedAt.IsZero() {
		q.Entry.ReceivedAt = g.opts.Now().UTC()
	}
	if q.Packet.ID == "" {
		q.Packet = NewPacket{ID: NewID(q.Entry.ReceivedAt), Kind: m.Kind()}
	}
	if err := g.store.Quarantine(ctx, q); err != nil {
		log.Error("quarantine", zap.Error(err))
		g.nak(log, m, 5*time.Second)
		return
	}
	g.obs.Received(m.Kind(), q.Entry.Sender, ReceiveQuarantined)
	log.Warn("packet quarantined", zap.String("reason", q.Entry.Reason), zap.String("sender", q.Entry.Sender), zap.String("why", q.Entry.ReasonEN))
	if err := m.Term(q.Entry.Reason); err != nil {
		log.Warn("term", zap.Error(err))
	}
	if q.Reply != nil {
		g.wakeDispatcher()
	}
}

// ack acknowledges m, waiting for the server at most ackTimeout: while
// NATS is away a handler should not hold its slot for long, since the
// message is stored and its redelivery will be deduplicated.
func (g *Gateway) ack(ctx context.Context, log *zap.Logger, m Message) {
	actx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	if err := m.Ack(actx); err != nil {
		log.Warn("ack", zap.Error(err))
	}
}

// ackTimeout bounds the wait for an ack's confirmation.
const ackTimeout = 5 * time.Second

func (g *Gateway) nak(log *zap.Logger, m Message, delay time.Duration) {
	if err := m.Nak(delay); err != nil {
		log.Warn("nak", zap.Error(err))
	}
}

// reply builds and signs the status code about the edoc whose header is h,
// from agency to the edoc's sender. It returns nil (and logs) if the
// status cannot be made.
func (g *Gateway) reply(log *zap.Logger, agency *HostedAgency, h envelope.MessageHeader, code envelope.StatusCode, description string, now time.Time) *Reply {
	// To the agency's code now: its former code has no consumer.
	sender := g.currentCode(h.From.OrganID)
	r, err := g.statusPacket(agency, envelope.ResponseFor{
		OrganID: h.From.OrganID, Code: h.Code.String(), PromulgationDate: h.Promulgation.Date, DocumentID: h.DocumentID,
	}, code, description, envelope.StaffInfo{}, now)
	if err != nil {
		log.Error(fmt.Sprintf("make status %s", code), zap.Error(err))
		return nil
	}
	r.To = sender
	return r
}

// statusPacket builds and signs a status packet from agency. SignStatus
// encodes it too: signing the bytes Encode wrote would read them back,
// which cost a gateway about a tenth of the RSA signature it makes for
// every status it sends. The time observed as signing includes the
// encoding, a few microseconds.
func (g *Gateway) statusPacket(agency *HostedAgency, about envelope.ResponseFor, code envelope.StatusCode, description string, staff envelope.StaffInfo, now time.Time) (*Reply, error) {
	start := time.Now()
	signed, err := agency.Signer.SignStatus(&envelope.Status{
		From:        envelope.Organization{OrganID: agency.Code.String(), OrganName: agency.Name},
		ResponseFor: about,
		StaffInfo:   staff,
		StatusCode:  code,
		Description: description,
		Timestamp:   envelope.TimestampOf(now),
	})
	if err != nil {
		return nil, err
	}
	g.obs.Signed(time.Since(start))
	return &Reply{
		Packet: NewPacket{ID: NewID(now), Kind: KindStatus, Data: signed},
		Code:   code, By: agency.Code.String(), Description: description, Staff: staff.Staff, At: now,
	}, nil
}

// maxKeptWarnings bounds the warnings kept with a received document: a
// sender decides how many trace headers or recipients its packet has, and
// the document's row should not grow with them.
const maxKeptWarnings = 50

// keptWarnings returns ws, or its first maxKeptWarnings and one more
// saying how many were left out.
func keptWarnings(ws []envelope.Warning) []envelope.Warning {
	if len(ws) <= maxKeptWarnings {
		return ws
	}
	left := len(ws) - maxKeptWarnings
	return append(ws[:maxKeptWarnings:maxKeptWarnings], envelope.Warning{Code: "more-warnings",
		MessageVI: fmt.Sprintf("Còn %d lưu ý khác không được ghi lại", left),
		MessageEN: fmt.Sprintf("%d more warnings were not kept", left)})
}

// currentCode is the canonical code of the agency that holds code now
// (itself, or the agency a former code became), or code canonical if the
// directory does not know it.
func (g *Gateway) currentCode(code string) string {
	if now, ok := g.dir.CurrentCode(code); ok {
		return now
	}
	return canonicalCode(code)
}

// oldCodeWarning says that a packet names an agency by a former code.
func oldCodeWarning(path, old, now string) envelope.Warning {
	return envelope.Warning{Path: path, Code: "old-code",
		MessageVI: fmt.Sprintf("Mã định danh cũ %s, nay là %s (theo danh bạ)", old, now),
		MessageEN: fmt.Sprintf("former agency code %s, now %s (per the directory)", old, now)}
}
