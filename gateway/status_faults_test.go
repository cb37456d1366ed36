package gateway_test

import (
	"errors"
	"testing"

	"github.com/lienthong/lienthong/envelope"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/internal/testkit"
)

// statuses returns the status packets queued to agency.
func (r *faultRig) statuses(agency string) int {
	n := 0
	for _, it := range r.outbox() {
		if it.Kind == gateway.KindStatus && it.Recipient == agency {
			n++
		}
	}
	return n
}

// TestPostStatus_Refusals: a status a DMS posts is refused, and nothing
// is queued, when the store cannot read the document or record the
// status, when the code is not the poster's to send or lacks its reason,
// when the caller may not act for the agency, and once the gateway is
// closed; a store that recovers takes the same status.
func TestPostStatus_Refusals(t *testing.T) {
	r := newFaultRig(t, nil)
	out := r.submit("1")
	m := r.message(r.item(gateway.KindEdoc, faultRecipient[0]))
	r.handle(m, 1)
	wantSettled(t, m, "Ack", 0)
	in := r.incoming()[0]
	before := r.statuses(faultSender[0])

	for _, tc := range []struct {
		name  string
		fault string // the store method that fails
		req   gateway.StatusRequest
		want  error
	}{
		{"document unreadable", "DocumentSummary", gateway.StatusRequest{Document: in.ID, Code: envelope.StatusAccepted}, errInjected},
		{"status not stored", "EmitStatus", gateway.StatusRequest{Document: in.ID, Code: envelope.StatusAccepted}, errInjected},
		{"no such document", "", gateway.StatusRequest{Document: "nope", Code: envelope.StatusAccepted}, gateway.ErrNotFound},
		{"not the caller's agency", "", gateway.StatusRequest{Document: in.ID, Code: envelope.StatusAccepted, Allowed: []string{faultOther[0]}}, gateway.ErrNotHosted},
		{"no such code", "", gateway.StatusRequest{Document: in.ID, Code: "99"}, envelope.ErrBadCode},
		{"01 is the gateway's", "", gateway.StatusRequest{Document: in.ID, Code: envelope.StatusArrived}, gateway.ErrStatusNotAllowed},
		{"13 on an incoming document", "", gateway.StatusRequest{Document: in.ID, Code: envelope.StatusRecallRequested, Description: "nhầm"}, gateway.ErrStatusNotAllowed},
		{"02 without its reason", "", gateway.StatusRequest{Document: in.ID, Code: envelope.StatusRejected, Description: " "}, gateway.ErrReasonRequired},
		{"13 to no recipient of it", "", gateway.StatusRequest{Document: out.ID, Code: envelope.StatusRecallRequested, Description: "nhầm", Recipients: []string{faultOther[0]}}, gateway.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fault != "" {
				r.store.Faults.Next(tc.fault, testkit.Fault{Err: errInjected})
			}
			if err := r.gw.PostStatus(t.Context(), tc.req); !errors.Is(err, tc.want) {
				t.Fatalf("PostStatus: %v, want %v", err, tc.want)
			}
			if got := r.statuses(faultSender[0]); got != before {
				t.Errorf("%d statuses queued to the sender, want %d", got, before)
			}
		})
	}

	// The store is back: the same 03 is recorded and queued.
	if err := r.gw.PostStatus(t.Context(), gateway.StatusRequest{Document: in.ID, Code: envelope.StatusAccepted}); err != nil {
		t.Fatalf("PostStatus 03: %v", err)
	}
	if got, want := r.statuses(faultSender[0]), before+1; got != want {
		t.Errorf("%d statuses queued to the sender, want %d", got, want)
	}
	if got := r.delivery(in.ID, faultRecipient[0]).State; got != envelope.StateAccepted {
		t.Errorf("state %s, want %s", got, envelope.StateAccepted)
	}

	if err := r.gw.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := r.gw.PostStatus(t.Context(), gateway.StatusRequest{Document: in.ID, Code: envelope.StatusProcessing}); !errors.Is(err, gateway.ErrClosed) {
		t.Errorf("PostStatus once closed: %v, want ErrClosed", err)
	}
}
