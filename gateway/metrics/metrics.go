package metrics

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/signing"
)

// Histogram buckets, in seconds. Each function returns a new slice, which
// the caller may change: the collectors keep the slice they are given,
// and a bucket list shared by every gateway of a process, and changeable
// by any package, would be state no one owns.

// SignatureBuckets are those of signing and verification: an RSA
// signature over a small packet takes a few milliseconds; the
// canonicalisation of a 67 MB packet, seconds.
func SignatureBuckets() []float64 {
	return []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
}

// DeliveryBuckets are those of the delivery latency: a 01 comes back
// within a second on a healthy axis, and after the outage when a link or
// a gateway is down.
func DeliveryBuckets() []float64 {
	return []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600}
}

// StatusBuckets are those of the status latency: 03 and 06 are people's
// work, minutes to weeks.
func StatusBuckets() []float64 {
	return []float64{1, 10, 60, 300, 900, 3600, 4 * 3600, 8 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600, 14 * 24 * 3600, 30 * 24 * 3600}
}

// HTTPBuckets are those of API requests, up to the upload of a large
// packet.
func HTTPBuckets() []float64 {
	return []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
}

// UnknownPeer is the peer label of an agency code that cannot be read.
const UnknownPeer = "unknown"

// The label values known in advance; their series exist from the start,
// at 0.
var (
	kinds               = []gateway.PacketKind{gateway.KindEdoc, gateway.KindStatus}
	submitOutcomes      = []gateway.SubmitOutcome{gateway.SubmitAccepted, gateway.SubmitReplay, gateway.SubmitDuplicate, gateway.SubmitInvalid, gateway.SubmitRefused, gateway.SubmitBusy}
	directoryRejections = []string{gateway.RejectUnsigned, gateway.RejectMalformed, gateway.RejectKey,
		gateway.RejectScope, gateway.RejectStale, gateway.RejectDeletion}
	verdictOutcomes = []signing.Outcome{signing.Valid, signing.Invalid, signing.Untrusted, signing.Expired, signing.Revoked,
		signing.WeakAlgorithm, signing.Missing, signing.NotBound, signing.Malformed}
)

// Metrics are the collectors of one gateway. It implements
// gateway.Observer; give it to the gateway in gateway.Options.Observer.
// It is safe for concurrent use.
type Metrics struct {
	reg prometheus.Registerer

	submitted       *prometheus.CounterVec
	sent            *prometheus.CounterVec
	publishFailures *prometheus.CounterVec
	received        *prometheus.CounterVec
	verdicts        *prometheus.CounterVec
	redeliveries    *prometheus.CounterVec
	dirRejected     *prometheus.CounterVec
	signDuration    prometheus.Histogram
	verifyDuration  prometheus.Histogram
	deliveryLatency *prometheus.HistogramVec
	statusLatency   *prometheus.HistogramVec
	httpRequests    *prometheus.CounterVec
	httpDuration    *prometheus.HistogramVec
	vxpRequests     *prometheus.CounterVec
	vxpDuration     *prometheus.HistogramVec
}

var _ gateway.Observer = (*Metrics)(nil)

// New creates the collectors of a gateway's events and registers them on
// reg. It fails if reg already has collectors of the same names (two
// gateways in one process need a registry each).
func New(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("metrics: a registerer is required")
	}
	m := &Metrics{
		reg: reg,
		submitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_documents_submitted_total",
			Help: "Documents posted by document-management systems, by outcome: accepted, replay, duplicate, invalid, refused (signature), busy (told to try again later: as many requests were in progress and waiting as the gateway takes at once).",
		}, []string{"outcome"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_packets_sent_total",
			Help: "Packets published and acknowledged by JetStream, by kind (edoc, status) and level-1 code of the recipient.",
		}, []string{"kind", "peer"}),
		publishFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_publish_failures_total",
			Help: "Publishes that failed and will be retried, by kind.",
		}, []string{"kind"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_packets_received_total",
			Help: "Received packets settled, by kind, outcome (ok, duplicate, quarantined, refused, unknown-recipient: addressed to an agency code the directory does not know, dropped) and level-1 code of the sender.",
		}, []string{"kind", "outcome", "peer"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_signature_verdicts_total",
			Help: "Signature verdicts of received packets, by kind and verdict.",
		}, []string{"kind", "verdict"}),
		redeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_redeliveries_total",
			Help: "Messages delivered again to this gateway, by kind.",
		}, []string{"kind"}),
		dirRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_directory_rejected_total",
			Help: "Updates of the directory not applied, by reason: unsigned (or a signature or signer not accepted), malformed, key (stored under another agency's key), scope (beyond its administrator's), stale (not newer), deletion.",
		}, []string{"reason"}),
		signDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lienthong_sign_duration_seconds",
			Help:    "Time to sign a packet.",
			Buckets: SignatureBuckets(),
		}),
		verifyDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lienthong_verify_duration_seconds",
			Help:    "Time to verify a packet's signature.",
			Buckets: SignatureBuckets(),
		}),
		deliveryLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lienthong_delivery_latency_seconds",
			Help:    "Time from an outgoing document's acceptance to its status 01 received, by level-1 code of the recipient.",
			Buckets: DeliveryBuckets(),
		}, []string{"peer"}),
		statusLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lienthong_status_latency_seconds",
			Help:    "Time from an outgoing document's acceptance to its status 03 or 06 received, by code and level-1 code of the recipient.",
			Buckets: StatusBuckets(),
		}, []string{"code", "peer"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lienthong_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern.",
			Buckets: HTTPBuckets(),
		}, []string{"route"}),
		vxpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_vxp_requests_total",
			Help: "Requests of the VXP face (the national axis SDK's protocol), by operation, system id (unknown when not authenticated) and ErrorCode (0 for success).",
		}, []string{"operation", "system", "code"}),
		vxpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lienthong_vxp_request_duration_seconds",
			Help:    "Time to answer a request of the VXP face, by operation.",
			Buckets: HTTPBuckets(),
		}, []string{"operation"}),
	}
	for _, c := range []prometheus.Collector{
		m.submitted, m.sent, m.publishFailures, m.received, m.verdicts, m.redeliveries, m.dirRejected,
		m.signDuration, m.verifyDuration, m.deliveryLatency, m.statusLatency, m.httpRequests, m.httpDuration,
		m.vxpRequests, m.vxpDuration,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	for _, o := range submitOutcomes {
		m.submitted.WithLabelValues(string(o))
	}
	for _, r := range directoryRejections {
		m.dirRejected.WithLabelValues(r)
	}
	for _, k := range kinds {
		m.publishFailures.WithLabelValues(string(k))
		m.redeliveries.WithLabelValues(string(k))
		for _, v := range verdictOutcomes {
			m.verdicts.WithLabelValues(string(k), string(v))
		}
	}
	return m, nil
}

// Peer returns the peer label of an agency code: its level-1 group
// ("H41" for 000.00.12.H41 or H41.12, "G22" for 000.00.00.G22), or
// UnknownPeer for an empty code or one whose level cannot be told.
func Peer(code string) string {
	c, err := envelope.ParseAgencyCode(code, envelope.CodeLenient)
	if err != nil || c.Level() == 0 {
		return UnknownPeer
	}
	return c.Groups()[0]
}

// Submitted implements gateway.Observer.
func (m *Metrics) Submitted(outcome gateway.SubmitOutcome) {
	m.submitted.WithLabelValues(string(outcome)).Inc()
}

// Signed implements gateway.Observer.
func (m *Metrics) Signed(d time.Duration) { m.signDuration.Observe(d.Seconds()) }

// Verified implements gateway.Observer.
func (m *Metrics) Verified(d time.Duration) { m.verifyDuration.Observe(d.Seconds()) }

// Verdict implements gateway.Observer.
func (m *Metrics) Verdict(kind gateway.PacketKind, outcome signing.Outcome) {
	m.verdicts.WithLabelValues(string(kind), string(outcome)).Inc()
}

// Published implements gateway.Observer.
func (m *Metrics) Published(kind gateway.PacketKind, to string, err error) {
	if err != nil {
		m.publishFailures.WithLabelValues(string(kind)).Inc()
		return
	}
	m.sent.WithLabelValues(string(kind), Peer(to)).Inc()
}

// Received implements gateway.Observer.
func (m *Metrics) Received(kind gateway.PacketKind, from string, outcome gateway.ReceiveOutcome) {
	m.received.WithLabelValues(string(kind), string(outcome), Peer(from)).Inc()
}

// Redelivered implements gateway.Observer.
func (m *Metrics) Redelivered(kind gateway.PacketKind) {
	m.redeliveries.WithLabelValues(string(kind)).Inc()
}

// DirectoryRejected implements gateway.Observer.
func (m *Metrics) DirectoryRejected(reason string) {
	m.dirRejected.WithLabelValues(reason).Inc()
}

// StatusApplied implements gateway.Observer: 01 feeds the delivery
// latency, 03 and 06 the status latency; other codes are not measured.
func (m *Metrics) StatusApplied(code envelope.StatusCode, from string, age time.Duration) {
	switch code {
	case envelope.StatusArrived:
		m.deliveryLatency.WithLabelValues(Peer(from)).Observe(age.Seconds())
	case envelope.StatusAccepted, envelope.StatusDone:
		m.statusLatency.WithLabelValues(string(code), Peer(from)).Observe(age.Seconds())
	}
}

// ObserveVXP counts a request of the VXP face (it implements
// vxp.Observer): operation "" (none of the protocol's) is counted as
// OtherRoute, an unauthenticated system as UnknownPeer.
func (m *Metrics) ObserveVXP(operation, system, code string, seconds float64) {
	if operation == "" {
		operation = OtherRoute
	}
	if system == "" {
		system = UnknownPeer
	}
	m.vxpRequests.WithLabelValues(operation, system, code).Inc()
	m.vxpDuration.WithLabelValues(operation).Observe(seconds)
}
