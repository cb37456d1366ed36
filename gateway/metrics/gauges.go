package metrics

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lienthong/lienthong/gateway"
)

// CollectTimeout bounds what one scrape asks the store and the bus.
const CollectTimeout = 5 * time.Second

// The descriptors of the gauges read at scrape time.
var (
	infoDesc = prometheus.NewDesc("lienthong_gateway_info",
		"The gateway's id and version; always 1.", []string{"gateway", "version"}, nil)
	outboxItemsDesc = prometheus.NewDesc("lienthong_outbox_items",
		"Packets waiting in the outbox to be published, one per recipient.", nil, nil)
	outboxAgeDesc = prometheus.NewDesc("lienthong_outbox_oldest_age_seconds",
		"Age of the oldest packet waiting in the outbox; 0 when the outbox is empty.", nil, nil)
	quarantineDesc = prometheus.NewDesc("lienthong_quarantine_items",
		"Received packets kept in quarantine.", nil, nil)
	quarantineBytesDesc = prometheus.NewDesc("lienthong_quarantine_bytes",
		"Size of the packets kept in quarantine, each once however many messages brought it.", nil, nil)
	quarantineDroppedDesc = prometheus.NewDesc("lienthong_quarantine_dropped_total",
		"Quarantine entries dropped, with their packets, to keep the quarantine within its bounds, since the store was opened.", nil, nil)
	overdueDesc = prometheus.NewDesc("lienthong_documents_overdue",
		"Incoming documents past their due date and not done, rejected or recalled.", nil, nil)
	storeBatchesDesc = prometheus.NewDesc("lienthong_store_batches_total",
		"Write transactions the store committed (or failed), one sync of its log each, since it was opened.", nil, nil)
	storeBatchedDesc = prometheus.NewDesc("lienthong_store_batched_updates_total",
		"Updates the store ran in those transactions (a document accepted or received, a status, ...): over lienthong_store_batches_total, the updates a sync.", nil, nil)
	storeQueueDesc = prometheus.NewDesc("lienthong_store_queue",
		"Updates waiting for the store's writer, not yet in a transaction.", nil, nil)
	pendingDesc = prometheus.NewDesc("lienthong_consumer_pending",
		"Messages for the hosted agencies not yet acknowledged (waiting on the stream or delivered and unsettled), by stream.", []string{"stream"}, nil)
	connectedDesc = prometheus.NewDesc("lienthong_nats_connected",
		"1 when the NATS connection is up, else 0.", nil, nil)
	directoryAgeDesc = prometheus.NewDesc("lienthong_directory_age_seconds",
		"Time since the gateway's view of the directory last changed.", nil, nil)
	heartbeatAgeDesc = prometheus.NewDesc("lienthong_heartbeat_age_seconds",
		"Time since the gateway's heartbeat last reached the heartbeats' bucket (the hub's, on a province's leaf node); absent before the first.", nil, nil)
	certificateDesc = prometheus.NewDesc("lienthong_certificate_expiry_seconds",
		"Time until the signing certificate of each hosted agency expires (NotAfter - now); negative once expired.", []string{"agency"}, nil)
	crlNextUpdateDesc = prometheus.NewDesc("lienthong_crl_next_update_timestamp_seconds",
		"NextUpdate of the newest revocation list of each issuer that signature verification uses, as a Unix time; past it the list is stale.", []string{"issuer"}, nil)
)

// Watch registers, on the registerer given to New, the gauges read from
// gw at each scrape: its id and version, its store's outbox, quarantine,
// overdue documents and writer (Stats), its consumers' pending
// messages (Pending, left out while NATS is not
// connected), the NATS connection, the age of its directory and of its
// last heartbeat, the expiry of its hosted agencies' certificates and the
// NextUpdate of its revocation lists. A source that fails during a scrape
// reports its gauges as errors of that scrape; the others are still
// served. Watch fails if it was called before on the same
// registerer.
func (m *Metrics) Watch(gw gateway.GaugeReader) error {
	if gateway.NoRole(gw) {
		return errors.New("metrics: watch: no gateway")
	}
	if err := m.reg.Register(&gatewayCollector{gw: gw, now: time.Now}); err != nil {
		return fmt.Errorf("metrics: watch: %w", err)
	}
	return nil
}

// gatewayCollector reads the gauges of a gateway at scrape time.
type gatewayCollector struct {
	gw  gateway.GaugeReader
	now func() time.Time
}

// Describe implements prometheus.Collector.
func (c *gatewayCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{infoDesc, outboxItemsDesc, outboxAgeDesc, quarantineDesc,
		quarantineBytesDesc, quarantineDroppedDesc, overdueDesc, storeBatchesDesc, storeBatchedDesc, storeQueueDesc, pendingDesc, connectedDesc, directoryAgeDesc, heartbeatAgeDesc, certificateDesc, crlNextUpdateDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *gatewayCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), CollectTimeout)
	defer cancel()
	gw, now := c.gw, c.now()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}

	gauge(infoDesc, 1, gw.ID(), gw.Version())
	next := crlNextUpdates(gw.CRLs())
	connected := gw.Connected()
	gauge(connectedDesc, boolValue(connected))
	if updated := gw.DirectoryUpdated(); !updated.IsZero() {
		gauge(directoryAgeDesc, max(now.Sub(updated).Seconds(), 0))
	}
	if beat := gw.LastHeartbeat(); !beat.IsZero() {
		gauge(heartbeatAgeDesc, max(now.Sub(beat).Seconds(), 0))
	}
	for _, a := range gw.HostedAgencies() {
		gauge(certificateDesc, a.Signer.Certificate().NotAfter.Sub(now).Seconds(), a.Code.String())
	}
	for _, issuer := range slices.Sorted(maps.Keys(next)) {
		gauge(crlNextUpdateDesc, float64(next[issuer].Unix()), issuer)
	}

	if st, err := gw.Stats(ctx, now); err != nil {
		for _, d := range []*prometheus.Desc{outboxItemsDesc, outboxAgeDesc, quarantineDesc, quarantineBytesDesc,
			quarantineDroppedDesc, overdueDesc, storeBatchesDesc, storeBatchedDesc, storeQueueDesc} {
			ch <- prometheus.NewInvalidMetric(d, err)
		}
	} else {
		gauge(outboxItemsDesc, float64(st.OutboxItems))
		age := 0.0
		if !st.OldestOutbox.IsZero() {
			age = max(now.Sub(st.OldestOutbox).Seconds(), 0)
		}
		gauge(outboxAgeDesc, age)
		gauge(quarantineDesc, float64(st.QuarantineItems))
		gauge(quarantineBytesDesc, float64(st.QuarantineBytes))
		ch <- prometheus.MustNewConstMetric(quarantineDroppedDesc, prometheus.CounterValue, float64(st.QuarantineDropped))
		gauge(overdueDesc, float64(st.Overdue))
		ch <- prometheus.MustNewConstMetric(storeBatchesDesc, prometheus.CounterValue, float64(st.WriterBatches))
		ch <- prometheus.MustNewConstMetric(storeBatchedDesc, prometheus.CounterValue, float64(st.WriterUpdates))
		gauge(storeQueueDesc, float64(st.WriterQueue))
	}

	if connected {
		// While NATS is away the servers cannot be asked; the gauge is
		// left out and lienthong_nats_connected says why.
		pending, err := gw.Pending(ctx)
		switch {
		case errors.Is(err, gateway.ErrClosed):
		case err != nil:
			ch <- prometheus.NewInvalidMetric(pendingDesc, err)
		default:
			streams := make([]string, 0, len(pending))
			for s := range pending {
				streams = append(streams, s)
			}
			sort.Strings(streams)
			for _, s := range streams {
				gauge(pendingDesc, float64(pending[s]), s)
			}
		}
	}
}

// crlNextUpdates returns the latest NextUpdate of the lists of each
// issuer (by its distinguished name). An issuer's newer list supersedes
// its older ones, so it is the newest whose staleness matters; and one
// series per issuer keeps two lists of one CA from colliding. Lists
// without a NextUpdate (optional in X.509) have no series.
func crlNextUpdates(crls []*x509.RevocationList) map[string]time.Time {
	next := make(map[string]time.Time, len(crls))
	for _, crl := range crls {
		if crl.NextUpdate.IsZero() {
			continue
		}
		issuer := crl.Issuer.String()
		if t, ok := next[issuer]; !ok || crl.NextUpdate.After(t) {
			next[issuer] = crl.NextUpdate
		}
	}
	return next
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
