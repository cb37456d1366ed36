// Package metrics is the Prometheus instrumentation of a lienthong
// gateway. [New] registers its collectors on the registry it is given (no
// global registry, no promauto) and returns a [Metrics], which is the
// gateway's [gateway.Observer]: the gateway tells it what it does as it
// does it. [Metrics.Watch] adds the gauges read at each scrape through
// the one role it is handed, [gateway.GaugeReader] (the gateway, its
// store's numbers and its bus's connection, never the store or the bus
// themselves), and [Metrics.Middleware] counts the requests of an HTTP
// handler by route. It imports no other face of the gateway.
//
// Labels stay few: kind is edoc or status; peer is the level-1 group of
// the other agency's code ("H41" for 000.00.12.H41, "unknown" when the
// code cannot be read); agency only names the agencies the gateway hosts;
// route is a pattern of the handler's mux or "other". No label ever holds
// a document id.
//
// # Metrics
//
// Counted as things happen:
//
//	lienthong_documents_submitted_total{outcome}         counter: DMS submissions; accepted, replay, duplicate, invalid, refused
//	lienthong_packets_sent_total{kind,peer}              counter: publishes JetStream acknowledged
//	lienthong_publish_failures_total{kind}               counter: publishes that failed (retried later)
//	lienthong_packets_received_total{kind,outcome,peer}  counter: received messages settled; ok, duplicate, quarantined, refused,
//	                                                     unknown-recipient (to a code the directory does not know: dropped, peer unknown)
//	lienthong_signature_verdicts_total{kind,verdict}     counter: signature verdicts of received packets (signing.Outcome)
//	lienthong_redeliveries_total{kind}                   counter: messages delivered again
//	lienthong_directory_rejected_total{reason}           counter: directory updates not applied (unsigned, malformed, key, scope, stale, deletion)
//	lienthong_sign_duration_seconds                      histogram: signing a packet
//	lienthong_verify_duration_seconds                    histogram: verifying a packet's signature
//	lienthong_delivery_latency_seconds{peer}             histogram: an outgoing document's acceptance → its 01 received
//	lienthong_status_latency_seconds{code,peer}          histogram: acceptance → status 03 or 06 received
//	lienthong_http_requests_total{route,code}            counter: HTTP requests answered
//	lienthong_http_request_duration_seconds{route}       histogram: HTTP request durations
//	lienthong_vxp_requests_total{operation,system,code}  counter: requests of the VXP face, by ErrorCode (0: success)
//	lienthong_vxp_request_duration_seconds{operation}    histogram: VXP request durations
//
// Read at each scrape (Watch):
//
//	lienthong_gateway_info{gateway,version}              gauge: 1
//	lienthong_outbox_items                               gauge: packets waiting to be published, one per recipient
//	lienthong_outbox_oldest_age_seconds                  gauge: age of the oldest of them; 0 when there is none
//	lienthong_quarantine_items                           gauge: received packets in quarantine
//	lienthong_quarantine_bytes                           gauge: size of the packets kept there, each once
//	lienthong_quarantine_dropped_total                   counter: entries dropped to keep the quarantine bounded, since start
//	lienthong_documents_overdue                          gauge: incoming documents past their due date, not done/rejected/recalled
//	lienthong_store_batches_total                        counter: write transactions of the store, one sync each, since start
//	lienthong_store_batched_updates_total                counter: updates in them; over the batches, the updates a sync
//	lienthong_store_queue                                gauge: updates waiting for the store's writer
//	lienthong_consumer_pending{stream}                   gauge: messages not yet acknowledged, LT_EDOC or LT_STATUS
//	lienthong_nats_connected                             gauge: 1 when the NATS connection is up, else 0
//	lienthong_directory_age_seconds                      gauge: since the directory last changed
//	lienthong_heartbeat_age_seconds                      gauge: since the last heartbeat reached the hub's bucket
//	lienthong_certificate_expiry_seconds{agency}         gauge: NotAfter − now of each hosted agency's signing certificate
//	lienthong_crl_next_update_timestamp_seconds{issuer}  gauge: NextUpdate (Unix time) of each issuer's newest CRL in use; stale once past
package metrics
