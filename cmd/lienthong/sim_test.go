package main

import (
	"strings"
	"testing"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
)

// TestSimCheck: the day's final check passes on stores that hold every
// delivery once in the state its clerk chose at both ends, and fails on a
// lost, a duplicated, an unreconciled or a stray delivery.
func TestSimCheck(t *testing.T) {
	from := simAgency{code: "000.00.00.G01"}
	a, b := simAgency{code: "000.00.00.H01"}, simAgency{code: "000.00.00.H02"}
	d := &simDoc{from: from, documentID: "000.00.00.G01,2025/01/01,1/SIM", to: []simAgency{a, b},
		want: []envelope.State{envelope.StateDone, envelope.StateRejected}}
	delivery := func(to string, st envelope.State) gateway.Delivery {
		return gateway.Delivery{Recipient: to, Lifecycle: envelope.Lifecycle{State: st}}
	}
	incoming := func(to string, st envelope.State) gateway.DocumentSummary {
		return gateway.DocumentSummary{
			Document:   gateway.Document{Direction: gateway.Incoming, Agency: to, From: from.code, DocumentID: d.documentID},
			Deliveries: []gateway.Delivery{delivery(to, st)},
		}
	}
	outgoing := func(sa, sb envelope.State) gateway.DocumentSummary {
		return gateway.DocumentSummary{
			Document:   gateway.Document{Direction: gateway.Outgoing, Agency: from.code, From: from.code, DocumentID: d.documentID},
			Deliveries: []gateway.Delivery{delivery(a.code, sa), delivery(b.code, sb)},
		}
	}
	done, rejected, accepted := envelope.StateDone, envelope.StateRejected, envelope.StateAccepted
	for _, tc := range []struct {
		name     string
		in, out  []gateway.DocumentSummary
		wantErrs string // empty: the check passes
	}{
		{"Reconciled", []gateway.DocumentSummary{incoming(a.code, done), incoming(b.code, rejected)}, []gateway.DocumentSummary{outgoing(done, rejected)}, ""},
		{"Lost", []gateway.DocumentSummary{incoming(a.code, done)}, []gateway.DocumentSummary{outgoing(done, rejected)}, "1 deliveries lost"},
		{"Twice", []gateway.DocumentSummary{incoming(a.code, done), incoming(b.code, rejected), incoming(b.code, rejected)}, []gateway.DocumentSummary{outgoing(done, rejected)}, "1 stored twice"},
		{"SenderBehind", []gateway.DocumentSummary{incoming(a.code, done), incoming(b.code, rejected)}, []gateway.DocumentSummary{outgoing(accepted, rejected)}, "1 unreconciled"},
		{"RecipientBehind", []gateway.DocumentSummary{incoming(a.code, accepted), incoming(b.code, rejected)}, []gateway.DocumentSummary{outgoing(done, rejected)}, "1 unreconciled"},
		{"NotAtSender", []gateway.DocumentSummary{incoming(a.code, done), incoming(b.code, rejected)}, nil, "2 unreconciled"},
		{"Stray", []gateway.DocumentSummary{incoming(a.code, done), incoming(b.code, rejected), incoming(from.code, done)}, []gateway.DocumentSummary{outgoing(done, rejected)}, "1 stray"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := simCheck([]*simDoc{d}, tc.in, tc.out)
			switch {
			case tc.wantErrs == "" && err != nil:
				t.Fatalf("check: %v", err)
			case tc.wantErrs != "" && err == nil:
				t.Fatalf("check passed, want %q", tc.wantErrs)
			case tc.wantErrs != "" && !strings.Contains(err.Error(), tc.wantErrs):
				t.Fatalf("check: %v, want %q", err, tc.wantErrs)
			}
		})
	}
}
