package envelope_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/envelope"
)

// Short names for the table below.
const (
	c01 = envelope.StatusArrived
	c02 = envelope.StatusRejected
	c03 = envelope.StatusAccepted
	c04 = envelope.StatusAssigned
	c05 = envelope.StatusProcessing
	c06 = envelope.StatusDone
	c13 = envelope.StatusRecallRequested
	c15 = envelope.StatusRecallAccepted
	c16 = envelope.StatusRecallRefused

	sSent       = envelope.StateSent
	sArrived    = envelope.StateArrived
	sRejected   = envelope.StateRejected
	sAccepted   = envelope.StateAccepted
	sAssigned   = envelope.StateAssigned
	sProcessing = envelope.StateProcessing
	sDone       = envelope.StateDone
	sRecallReq  = envelope.StateRecallRequested
	sRecalled   = envelope.StateRecalled
)

var (
	errDup      = envelope.ErrDuplicateStatus
	errFinal    = envelope.ErrFinalState
	errParty    = envelope.ErrWrongParty
	errNoRecall = envelope.ErrNoRecallPending
	errUnknown  = envelope.ErrUnknownStatus
	errConflict = envelope.ErrStatusConflict
)

// allStates are the nine states in declaration order.
var allStates = []envelope.State{
	sSent, sArrived, sRejected, sAccepted, sAssigned, sProcessing, sDone, sRecallReq, sRecalled,
}

// statusEvents returns the events of codes, each sent by the party that emits it.
func statusEvents(codes ...envelope.StatusCode) []envelope.StatusEvent {
	events := make([]envelope.StatusEvent, len(codes))
	for i, c := range codes {
		events[i] = envelope.StatusEvent{Code: c, From: c.SentBy()}
	}
	return events
}

// reach is, for every state, a realistic sequence of statuses leading to it.
// Some leave lower codes unseen so that late statuses show in the table.
var reach = map[envelope.State]struct {
	events []envelope.StatusEvent
	before envelope.State
}{
	sSent:       {nil, sSent},
	sArrived:    {statusEvents(c01), sSent},
	sRejected:   {statusEvents(c02), sSent}, // refused before 01 came
	sAccepted:   {statusEvents(c01, c03), sSent},
	sAssigned:   {statusEvents(c03, c04), sSent},          // 01 never came
	sProcessing: {statusEvents(c01, c03, c05), sSent},     // 04 skipped
	sDone:       {statusEvents(c01, c03, c06), sSent},     // 04, 05 skipped
	sRecallReq:  {statusEvents(c01, c03, c13), sAccepted}, // recall of an accepted document
	sRecalled:   {statusEvents(c01, c13, c15), sArrived},  // recalled once arrived
}

// mustReach returns the lifecycle reached by reach[s], failing the test if
// it is not in state s.
func mustReach(tb testing.TB, s envelope.State) envelope.Lifecycle {
	tb.Helper()
	r, ok := reach[s]
	if !ok {
		tb.Fatalf("no prefix for state %s", s)
	}
	l, errs := envelope.Replay(r.events)
	if errs != nil {
		tb.Fatalf("prefix for %s: %v", s, errs)
	}
	if l.State != s || l.BeforeRecall != r.before {
		tb.Fatalf("prefix for %s reached %s (before recall %s)", s, l.State, l.BeforeRecall)
	}
	return l
}

// TestLifecycle_Apply covers every (state, code) pair, each code sent by
// the party that emits it.
func TestLifecycle_Apply(t *testing.T) {
	tests := []struct {
		name       string
		from       envelope.State
		code       envelope.StatusCode
		want       envelope.State // state after, when no error
		wantBefore envelope.State // BeforeRecall after, when no error
		wantErr    error
	}{
		{name: "Sent/01", from: sSent, code: c01, want: sArrived},
		{name: "Sent/02", from: sSent, code: c02, want: sRejected},
		{name: "Sent/03", from: sSent, code: c03, want: sAccepted},
		{name: "Sent/04", from: sSent, code: c04, want: sAssigned},
		{name: "Sent/05", from: sSent, code: c05, want: sProcessing},
		{name: "Sent/06", from: sSent, code: c06, want: sDone},
		{name: "Sent/13", from: sSent, code: c13, want: sRecallReq, wantBefore: sSent},
		{name: "Sent/15", from: sSent, code: c15, wantErr: errNoRecall},
		{name: "Sent/16", from: sSent, code: c16, wantErr: errNoRecall},

		{name: "Arrived/01", from: sArrived, code: c01, wantErr: errDup},
		{name: "Arrived/02", from: sArrived, code: c02, want: sRejected},
		{name: "Arrived/03", from: sArrived, code: c03, want: sAccepted},
		{name: "Arrived/04", from: sArrived, code: c04, want: sAssigned},
		{name: "Arrived/05", from: sArrived, code: c05, want: sProcessing},
		{name: "Arrived/06", from: sArrived, code: c06, want: sDone},
		{name: "Arrived/13", from: sArrived, code: c13, want: sRecallReq, wantBefore: sArrived},
		{name: "Arrived/15", from: sArrived, code: c15, wantErr: errNoRecall},
		{name: "Arrived/16", from: sArrived, code: c16, wantErr: errNoRecall},

		{name: "Rejected/01Late", from: sRejected, code: c01, want: sRejected},
		{name: "Rejected/02", from: sRejected, code: c02, wantErr: errDup},
		{name: "Rejected/03", from: sRejected, code: c03, wantErr: errFinal},
		{name: "Rejected/04", from: sRejected, code: c04, wantErr: errFinal},
		{name: "Rejected/05", from: sRejected, code: c05, wantErr: errFinal},
		{name: "Rejected/06", from: sRejected, code: c06, wantErr: errFinal},
		{name: "Rejected/13", from: sRejected, code: c13, wantErr: errFinal},
		{name: "Rejected/15", from: sRejected, code: c15, wantErr: errFinal},
		{name: "Rejected/16", from: sRejected, code: c16, wantErr: errFinal},

		{name: "Accepted/01", from: sAccepted, code: c01, wantErr: errDup},
		{name: "Accepted/02", from: sAccepted, code: c02, wantErr: errConflict},
		{name: "Accepted/03", from: sAccepted, code: c03, wantErr: errDup},
		{name: "Accepted/04", from: sAccepted, code: c04, want: sAssigned},
		{name: "Accepted/05", from: sAccepted, code: c05, want: sProcessing},
		{name: "Accepted/06", from: sAccepted, code: c06, want: sDone},
		{name: "Accepted/13", from: sAccepted, code: c13, want: sRecallReq, wantBefore: sAccepted},
		{name: "Accepted/15", from: sAccepted, code: c15, wantErr: errNoRecall},
		{name: "Accepted/16", from: sAccepted, code: c16, wantErr: errNoRecall},

		{name: "Assigned/01Late", from: sAssigned, code: c01, want: sAssigned},
		{name: "Assigned/02", from: sAssigned, code: c02, wantErr: errConflict},
		{name: "Assigned/03", from: sAssigned, code: c03, wantErr: errDup},
		{name: "Assigned/04", from: sAssigned, code: c04, wantErr: errDup},
		{name: "Assigned/05", from: sAssigned, code: c05, want: sProcessing},
		{name: "Assigned/06", from: sAssigned, code: c06, want: sDone},
		{name: "Assigned/13", from: sAssigned, code: c13, want: sRecallReq, wantBefore: sAssigned},
		{name: "Assigned/15", from: sAssigned, code: c15, wantErr: errNoRecall},
		{name: "Assigned/16", from: sAssigned, code: c16, wantErr: errNoRecall},

		{name: "Processing/01", from: sProcessing, code: c01, wantErr: errDup},
		{name: "Processing/02", from: sProcessing, code: c02, wantErr: errConflict},
		{name: "Processing/03", from: sProcessing, code: c03, wantErr: errDup},
		{name: "Processing/04Late", from: sProcessing, code: c04, want: sProcessing},
		{name: "Processing/05Repeat", from: sProcessing, code: c05, want: sProcessing},
		{name: "Processing/06", from: sProcessing, code: c06, want: sDone},
		{name: "Processing/13", from: sProcessing, code: c13, want: sRecallReq, wantBefore: sProcessing},
		{name: "Processing/15", from: sProcessing, code: c15, wantErr: errNoRecall},
		{name: "Processing/16", from: sProcessing, code: c16, wantErr: errNoRecall},

		{name: "Done/01", from: sDone, code: c01, wantErr: errDup},
		{name: "Done/02", from: sDone, code: c02, wantErr: errConflict},
		{name: "Done/03", from: sDone, code: c03, wantErr: errDup},
		{name: "Done/04Late", from: sDone, code: c04, want: sDone},
		{name: "Done/05", from: sDone, code: c05, wantErr: errFinal},
		{name: "Done/06", from: sDone, code: c06, wantErr: errDup},
		{name: "Done/13", from: sDone, code: c13, want: sRecallReq, wantBefore: sDone},
		{name: "Done/15", from: sDone, code: c15, wantErr: errNoRecall},
		{name: "Done/16", from: sDone, code: c16, wantErr: errNoRecall},

		{name: "RecallRequested/01", from: sRecallReq, code: c01, wantErr: errDup},
		{name: "RecallRequested/02", from: sRecallReq, code: c02, wantErr: errConflict},
		{name: "RecallRequested/03", from: sRecallReq, code: c03, wantErr: errDup},
		{name: "RecallRequested/04", from: sRecallReq, code: c04, want: sRecallReq, wantBefore: sAssigned},
		{name: "RecallRequested/05", from: sRecallReq, code: c05, want: sRecallReq, wantBefore: sProcessing},
		{name: "RecallRequested/06", from: sRecallReq, code: c06, want: sRecallReq, wantBefore: sDone},
		{name: "RecallRequested/13", from: sRecallReq, code: c13, wantErr: errDup},
		{name: "RecallRequested/15", from: sRecallReq, code: c15, want: sRecalled, wantBefore: sAccepted},
		{name: "RecallRequested/16", from: sRecallReq, code: c16, want: sAccepted},

		{name: "Recalled/01", from: sRecalled, code: c01, wantErr: errDup},
		{name: "Recalled/02", from: sRecalled, code: c02, wantErr: errFinal},
		{name: "Recalled/03", from: sRecalled, code: c03, wantErr: errFinal},
		{name: "Recalled/04", from: sRecalled, code: c04, wantErr: errFinal},
		{name: "Recalled/05", from: sRecalled, code: c05, wantErr: errFinal},
		{name: "Recalled/06", from: sRecalled, code: c06, wantErr: errFinal},
		{name: "Recalled/13", from: sRecalled, code: c13, wantErr: errFinal},
		{name: "Recalled/15", from: sRecalled, code: c15, wantErr: errDup},
		{name: "Recalled/16", from: sRecalled, code: c16, wantErr: errFinal},
	}

	covered := make(map[envelope.State]map[envelope.StatusCode]bool)
	for _, tt := range tests {
		if covered[tt.from] == nil {
			covered[tt.from] = make(map[envelope.StatusCode]bool)
		}
		covered[tt.from][tt.code] = true

		t.Run(tt.name, func(t *testing.T) {
			l := mustReach(t, tt.from)
			got, err := l.Apply(tt.code, tt.code.SentBy())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Apply(%s) error = %v, want %v", tt.code, err, tt.wantErr)
				}
				if got != l {
					t.Errorf("refused Apply(%s) returned %+v, want the lifecycle unchanged %+v", tt.code, got, l)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply(%s) error = %v", tt.code, err)
			}
			if got.State != tt.want || got.BeforeRecall != tt.wantBefore {
				t.Errorf("Apply(%s) = %s (before recall %s), want %s (before recall %s)",
					tt.code, got.State, got.BeforeRecall, tt.want, tt.wantBefore)
			}
			if !got.Seen.Has(tt.code) {
				t.Errorf("Apply(%s): Seen = %s, want it to hold %s", tt.code, got.Seen, tt.code)
			}
		})
	}

	// The table must cover every state and every code.
	for _, s := range allStates {
		for _, c := range envelope.StatusCodes() {
			if !covered[s][c] {
				t.Errorf("no test for state %s and code %s", s, c)
			}
		}
	}
}

// TestLifecycle_Apply_WrongParty checks that every code sent by the party
// that does not emit it, or by no party, is refused in every state.
func TestLifecycle_Apply_WrongParty(t *testing.T) {
	for _, s := range allStates {
		for _, c := range envelope.StatusCodes() {
			other := envelope.PartySender
			if c.SentBy() == envelope.PartySender {
				other = envelope.PartyRecipient
			}
			for _, p := range []envelope.Party{other, 0} {
				t.Run(fmt.Sprintf("%s/%s/%s", s, c, p), func(t *testing.T) {
					l := mustReach(t, s)
					got, err := l.Apply(c, p)
					if !errors.Is(err, errParty) {
						t.Fatalf("Apply(%s, %s) error = %v, want %v", c, p, err, errParty)
					}
					if got != l {
						t.Errorf("refused Apply changed the lifecycle: %+v, want %+v", got, l)
					}
				})
			}
		}
	}
}

func TestLifecycle_Apply_UnknownStatus(t *testing.T) {
	for _, c := range []envelope.StatusCode{"", "1", "00", "07", "12", "14", "17", "99", " 01"} {
		for _, p := range []envelope.Party{envelope.PartyRecipient, envelope.PartySender} {
			t.Run(fmt.Sprintf("%q/%s", c, p), func(t *testing.T) {
				_, err := envelope.Lifecycle{}.Apply(c, p)
				if !errors.Is(err, errUnknown) {
					t.Fatalf("Apply(%q) error = %v, want %v", c, err, errUnknown)
				}
			})
		}
	}
}

func TestLifecycle_Apply_DoesNotModifyReceiver(t *testing.T) {
	l := mustReach(t, sAccepted)
	saved := l
	next, err := l.Apply(c13, envelope.PartySender)
	if err != nil {
		t.Fatal(err)
	}
	if l != saved {
		t.Errorf("Apply modified its receiver: %+v, want %+v", l, saved)
	}
	if next == l {
		t.Errorf("Apply returned the receiver unchanged")
	}
}

func TestReplay(t *testing.T) {
	tests := []struct {
		name       string
		events     []envelope.StatusEvent
		want       envelope.State
		wantBefore envelope.State
		wantSeen   string  // Seen.String(), checked when not empty
		wantErr    []error // one sentinel per refused event, in order
	}{
		{name: "Empty", want: sSent},
		{name: "InOrder", events: statusEvents(c01, c03, c04, c05, c05, c06), want: sDone, wantSeen: "01,03,04,05,06"},
		{name: "AcceptedBeforeArrived", events: statusEvents(c03, c01), want: sAccepted, wantSeen: "01,03"},
		{name: "DoneBeforeAccepted", events: statusEvents(c01, c06, c03), want: sDone, wantSeen: "01,03,06"},
		{name: "DoneFirst", events: statusEvents(c06, c01, c03, c04), want: sDone, wantSeen: "01,03,04,06"},
		{name: "ProcessingAfterDone", events: statusEvents(c01, c03, c06, c05), want: sDone, wantSeen: "01,03,06", wantErr: []error{errFinal}},
		{name: "ProcessingRepeats", events: statusEvents(c01, c03, c05, c05, c05), want: sProcessing},
		{name: "AssignedSkipped", events: statusEvents(c01, c03, c05, c06), want: sDone},
		{name: "DuplicateArrived", events: statusEvents(c01, c01), want: sArrived, wantErr: []error{errDup}},
		{name: "DuplicateAccepted", events: statusEvents(c01, c03, c04, c03), want: sAssigned, wantErr: []error{errDup}},
		{name: "DuplicateDone", events: statusEvents(c01, c03, c06, c06), want: sDone, wantErr: []error{errDup}},
		{name: "DuplicateRejected", events: statusEvents(c01, c02, c02), want: sRejected, wantErr: []error{errDup}},
		{name: "RejectedBeforeArrived", events: statusEvents(c02, c01), want: sRejected, wantSeen: "01,02"},
		{name: "RejectedAfterAccepted", events: statusEvents(c01, c03, c02), want: sAccepted, wantErr: []error{errConflict}},
		{name: "AcceptedAfterRejected", events: statusEvents(c01, c02, c03), want: sRejected, wantErr: []error{errFinal}},
		{name: "RecallRefused", events: statusEvents(c01, c03, c13, c16), want: sAccepted},
		{name: "RecallRefusedAfterProcessing", events: statusEvents(c01, c03, c13, c05, c16), want: sProcessing},
		{name: "RecallAccepted", events: statusEvents(c01, c03, c13, c15), want: sRecalled, wantBefore: sAccepted},
		{name: "RecallAcceptedAfterProgress", events: statusEvents(c01, c13, c03, c15), want: sRecalled, wantBefore: sAccepted},
		{name: "RecallOfDoneRefused", events: statusEvents(c01, c03, c06, c13, c16), want: sDone},
		{name: "RecallOfDoneAccepted", events: statusEvents(c01, c03, c06, c13, c15), want: sRecalled, wantBefore: sDone},
		{name: "RecallBeforeArrival", events: statusEvents(c13, c01, c16), want: sArrived},
		{name: "SecondRecallAfterRefusal", events: statusEvents(c01, c03, c13, c16, c13, c15), want: sRecalled, wantBefore: sAccepted},
		{name: "SecondRecallRefused", events: statusEvents(c01, c13, c16, c03, c13, c16), want: sAccepted},
		{name: "RecallRequestedTwice", events: statusEvents(c01, c13, c13), want: sRecallReq, wantBefore: sArrived, wantErr: []error{errDup}},
		{name: "RecallRefusedTwice", events: statusEvents(c01, c13, c16, c16), want: sArrived, wantErr: []error{errDup}},
		{name: "RecallAcceptedTwice", events: statusEvents(c13, c15, c15), want: sRecalled, wantErr: []error{errDup}},
		{name: "RefusedAfterAccepted", events: statusEvents(c01, c13, c15, c16), want: sRecalled, wantBefore: sArrived, wantErr: []error{errFinal}},
		{name: "AcceptedAfterRefused", events: statusEvents(c01, c13, c16, c15), want: sArrived, wantErr: []error{errNoRecall}},
		{name: "AnswerWithoutRequest", events: statusEvents(c01, c15, c16), want: sArrived, wantErr: []error{errNoRecall, errNoRecall}},
		{name: "RejectedWhileRecallPending", events: statusEvents(c01, c13, c02), want: sRecallReq, wantBefore: sRejected},
		{name: "RejectedWhileRecallPendingThenRefused", events: statusEvents(c01, c13, c02, c16), want: sRejected},
		{name: "RejectedWhileRecallPendingThenAccepted", events: statusEvents(c01, c13, c02, c15), want: sRecalled, wantBefore: sRejected},
		{name: "ConflictWhileRecallPending", events: statusEvents(c01, c03, c13, c02, c16), want: sAccepted, wantErr: []error{errConflict}},
		{name: "ProgressAfterDoneWhileRecallPending", events: statusEvents(c01, c03, c06, c13, c05, c16), want: sDone, wantErr: []error{errFinal}},
		{name: "RecallOfRejected", events: statusEvents(c01, c02, c13), want: sRejected, wantErr: []error{errFinal}},
		{name: "ProgressAfterRecalled", events: statusEvents(c01, c13, c15, c03), want: sRecalled, wantBefore: sArrived, wantErr: []error{errFinal}},
		{
			name: "WrongParty",
			events: []envelope.StatusEvent{
				{Code: c01, From: envelope.PartySender},
				{Code: c13, From: envelope.PartyRecipient},
				{Code: c01, From: envelope.PartyRecipient},
			},
			want:    sArrived,
			wantErr: []error{errParty, errParty},
		},
		{
			name: "UnknownCodes",
			events: []envelope.StatusEvent{
				{Code: "07", From: envelope.PartyRecipient},
				{Code: "1", From: envelope.PartyRecipient},
				{Code: "", From: envelope.PartySender},
			},
			want:    sSent,
			wantErr: []error{errUnknown, errUnknown, errUnknown},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := envelope.Replay(tt.events)
			if got.State != tt.want || got.BeforeRecall != tt.wantBefore {
				t.Errorf("Replay = %s (before recall %s), want %s (before recall %s)",
					got.State, got.BeforeRecall, tt.want, tt.wantBefore)
			}
			if tt.wantSeen != "" && got.Seen.String() != tt.wantSeen {
				t.Errorf("Seen = %q, want %q", got.Seen, tt.wantSeen)
			}
			if len(errs) != len(tt.wantErr) {
				t.Fatalf("Replay errors = %v, want %d matching %v", errs, len(tt.wantErr), tt.wantErr)
			}
			for i, err := range errs {
				if !errors.Is(err, tt.wantErr[i]) {
					t.Errorf("error %d = %v, want %v", i, err, tt.wantErr[i])
				}
				var te *envelope.TransitionError
				if !errors.As(err, &te) {
					t.Errorf("error %d = %T, want *envelope.TransitionError", i, err)
				}
			}
		})
	}
}

// progressEvents are the recipient's progress codes that always end in done.
var progressEvents = []envelope.StatusCode{c01, c03, c04, c05, c06}

// TestReplay_AnyOrderEndsDone checks every permutation of 01, 03, 04, 05, 06:
// whatever the order, the document ends done, and the only refusal is a 05
// that came after the 06.
func TestReplay_AnyOrderEndsDone(t *testing.T) {
	n := 0
	for perm := range allOrders(progressEvents) {
		n++
		got, errs := envelope.Replay(statusEvents(perm...))
		if got.State != sDone {
			t.Errorf("%v: state %s, want %s", perm, got.State, sDone)
		}
		i05, i06 := slices.Index(perm, c05), slices.Index(perm, c06)
		var want []error
		if i05 > i06 {
			want = []error{errFinal}
		}
		if len(errs) != len(want) || (len(want) == 1 && !errors.Is(errs[0], want[0])) {
			t.Errorf("%v: errors %v, want %v", perm, errs, want)
		}
	}
	if n != 120 {
		t.Fatalf("tried %d permutations, want 120", n)
	}
}

// TestReplay_RandomOrderWithDuplicatesEndsDone shuffles 01, 03, 04, 05, 06
// with repeats (a re-delivered status, more 05s) using a fixed seed: the
// document always ends done and every refusal is a duplicate or a 05 after
// the 06.
func TestReplay_RandomOrderWithDuplicatesEndsDone(t *testing.T) {
	rng := rand.New(rand.NewPCG(2016, 102))
	for range 2000 {
		codes := slices.Clone(progressEvents)
		for range rng.IntN(6) {
			codes = append(codes, progressEvents[rng.IntN(len(progressEvents))])
		}
		rng.Shuffle(len(codes), func(i, j int) { codes[i], codes[j] = codes[j], codes[i] })

		got, errs := envelope.Replay(statusEvents(codes...))
		if got.State != sDone {
			t.Fatalf("%v: state %s, want %s", codes, got.State, sDone)
		}
		for _, err := range errs {
			if !errors.Is(err, errDup) && !errors.Is(err, errFinal) {
				t.Fatalf("%v: unexpected refusal %v", codes, err)
			}
		}
	}
}

// stateRank orders the states that progress codes reach.
var stateRank = map[envelope.State]int{
	sSent: 0, sArrived: 1, sAccepted: 2, sAssigned: 3, sProcessing: 4, sDone: 5,
}

// TestLifecycle_Apply_Invariants applies random events, valid or not, from
// either party, with a fixed seed, and checks what must always hold.
func TestLifecycle_Apply_Invariants(t *testing.T) {
	codes := append(envelope.StatusCodes(), "07", "")
	parties := []envelope.Party{envelope.PartyRecipient, envelope.PartySender, 0}
	rng := rand.New(rand.NewPCG(30, 2020))
	for range 5000 {
		var l envelope.Lifecycle
		var history []string
		for range 1 + rng.IntN(12) {
			c := codes[rng.IntN(len(codes))]
			p := parties[rng.IntN(len(parties))]
			if rng.IntN(4) > 0 { // mostly the right party
				p = c.SentBy()
			}
			history = append(history, string(c)+"/"+p.String())
			next, err := l.Apply(c, p)
			if err != nil {
				var te *envelope.TransitionError
				if !errors.As(err, &te) {
					t.Fatalf("%v: error %T, want *TransitionError", history, err)
				}
				if te.From != l.State || te.Code != c || te.Party != p {
					t.Fatalf("%v: error fields %+v", history, te)
				}
				if next != l {
					t.Fatalf("%v: refused status changed the lifecycle", history)
				}
				continue
			}
			if !next.Seen.Has(c) {
				t.Fatalf("%v: applied code not in Seen %s", history, next.Seen)
			}
			if l.Seen&^next.Seen != 0 {
				t.Fatalf("%v: Seen lost codes: %s → %s", history, l.Seen, next.Seen)
			}
			switch {
			case l.State == sRecalled:
				t.Fatalf("%v: a status was applied on recalled", history)
			case l.State == sRejected && next.State != sRejected:
				t.Fatalf("%v: rejected moved to %s", history, next.State)
			case next.State == l.State:
			case c == c16 && l.State == sRecallReq:
			case c == c13 && next.State == sRecallReq:
			case c == c15 && next.State == sRecalled:
			case c == c02 && next.State == sRejected && stateRank[l.State] <= stateRank[sArrived]:
			default:
				r0, ok0 := stateRank[l.State]
				r1, ok1 := stateRank[next.State]
				if !ok0 || !ok1 || r1 <= r0 {
					t.Fatalf("%v: %s moved to %s on %s", history, l.State, next.State, c)
				}
			}
			l = next
		}
	}
}

func TestTransitionError(t *testing.T) {
	l := mustReach(t, sDone)
	_, err := l.Apply(c06, envelope.PartyRecipient)
	var te *envelope.TransitionError
	if !errors.As(err, &te) {
		t.Fatalf("error %T, want *envelope.TransitionError", err)
	}
	if te.From != sDone || te.Code != c06 || te.Party != envelope.PartyRecipient || te.Err != errDup {
		t.Errorf("fields = %+v", te)
	}
	if got, want := te.Unwrap(), errDup; got != want {
		t.Errorf("Unwrap() = %v, want %v", got, want)
	}
	if got, want := te.Error(), "envelope: duplicate status: 06 (Done) from recipient in state done"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	wantVI := "Trạng thái 06 (Hoàn thành) của bên nhận không được ghi nhận khi văn bản đang ở trạng thái “Hoàn thành”: trạng thái này đã được ghi nhận trước đó."
	if got := te.MessageVI(); got != wantVI {
		t.Errorf("MessageVI() = %q, want %q", got, wantVI)
	}

	// Every sentinel has its own message in both languages.
	sentinels := []error{errDup, errFinal, errParty, errNoRecall, errUnknown, errConflict}
	seenEN, seenVI := map[string]bool{}, map[string]bool{}
	for _, s := range sentinels {
		if !strings.HasPrefix(s.Error(), "envelope: ") {
			t.Errorf("sentinel %q does not start with \"envelope: \"", s)
		}
		e := &envelope.TransitionError{From: sSent, Code: "99", Party: envelope.PartySender, Err: s}
		en, vi := e.Error(), e.MessageVI()
		if !strings.HasPrefix(en, s.Error()) || seenEN[en] {
			t.Errorf("Error() = %q", en)
		}
		if vi == "" || seenVI[vi] || !strings.Contains(vi, "bên gửi") {
			t.Errorf("MessageVI() = %q", vi)
		}
		seenEN[en], seenVI[vi] = true, true
	}
}

func TestState_Names(t *testing.T) {
	wantIDs := []string{"sent", "arrived", "rejected", "accepted", "assigned", "processing", "done", "recall_requested", "recalled"}
	ids, names := map[string]bool{}, map[string]bool{}
	for i, s := range allStates {
		if got := s.String(); got != wantIDs[i] {
			t.Errorf("State(%d).String() = %q, want %q", int(s), got, wantIDs[i])
		}
		name := s.Name()
		if name == "" || names[name] {
			t.Errorf("%s.Name() = %q: empty or not distinct", s, name)
		}
		ids[s.String()], names[name] = true, true

		got, err := envelope.ParseState(s.String())
		if err != nil || got != s {
			t.Errorf("ParseState(%q) = %v, %v", s.String(), got, err)
		}
	}
	if got, want := sRecallReq.Name(), "Đang yêu cầu lấy lại"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
	if got, want := envelope.State(42).String(), "State(42)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, s := range []string{"", "Sent", "recall-requested", "9", " done"} {
		if _, err := envelope.ParseState(s); !errors.Is(err, envelope.ErrBadCode) {
			t.Errorf("ParseState(%q) error = %v, want %v", s, err, envelope.ErrBadCode)
		}
	}
}

func TestState_Final(t *testing.T) {
	for _, s := range allStates {
		want := s == sRejected || s == sDone || s == sRecalled
		if got := s.Final(); got != want {
			t.Errorf("%s.Final() = %v, want %v", s, got, want)
		}
	}
}

func TestLifecycle_JSON(t *testing.T) {
	l, _ := envelope.Replay(statusEvents(c03, c01, c13, c05))
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"State":"recall_requested","BeforeRecall":"processing","Seen":"01,03,05,13"}`; got != want {
		t.Errorf("json = %s, want %s", got, want)
	}
	var back envelope.Lifecycle
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != l {
		t.Errorf("round trip = %+v, want %+v", back, l)
	}
	if _, err := json.Marshal(envelope.Lifecycle{State: 99}); err == nil {
		t.Errorf("json.Marshal of an invalid state succeeded")
	}
	if err := json.Unmarshal([]byte(`{"State":"lost"}`), &back); !errors.Is(err, envelope.ErrBadCode) {
		t.Errorf("json.Unmarshal of an unknown state: error %v, want %v", err, envelope.ErrBadCode)
	}
}

func TestStatusSet(t *testing.T) {
	var s envelope.StatusSet
	if s.String() != "" || s.Codes() != nil {
		t.Errorf("zero set = %q %v, want empty", s, s.Codes())
	}
	s.Add(c16)
	s.Add(c01)
	s.Add("07") // ignored
	s.Add("1")  // ignored: not as on the wire
	s.Add(c01)
	if got, want := s.String(), "01,16"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, c := range envelope.StatusCodes() {
		if got, want := s.Has(c), c == c01 || c == c16; got != want {
			t.Errorf("Has(%s) = %v, want %v", c, got, want)
		}
	}
	if s.Has("07") || s.Has("") {
		t.Errorf("Has reports a code outside the code list")
	}

	var all envelope.StatusSet
	for _, c := range envelope.StatusCodes() {
		all.Add(c)
	}
	if got, want := all.String(), "01,02,03,04,05,06,13,15,16"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}

	var back envelope.StatusSet
	if err := back.UnmarshalText([]byte(" 1, 03,16 ")); err != nil {
		t.Fatal(err)
	}
	if got, want := back.String(), "01,03,16"; got != want {
		t.Errorf("UnmarshalText = %q, want %q", got, want)
	}
	if err := back.UnmarshalText(nil); err != nil || back != 0 {
		t.Errorf("UnmarshalText(empty) = %s, %v", back, err)
	}
	if err := back.UnmarshalText([]byte("01,07")); !errors.Is(err, envelope.ErrBadCode) {
		t.Errorf("UnmarshalText(01,07) error = %v, want %v", err, envelope.ErrBadCode)
	}
}

func TestParty(t *testing.T) {
	tests := []struct {
		p         envelope.Party
		str, name string
	}{
		{envelope.PartyRecipient, "recipient", "Bên nhận"},
		{envelope.PartySender, "sender", "Bên gửi"},
		{0, "Party(0)", "Bên không xác định (0)"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.str {
			t.Errorf("String() = %q, want %q", got, tt.str)
		}
		if got := tt.p.Name(); got != tt.name {
			t.Errorf("Name() = %q, want %q", got, tt.name)
		}
	}
}

// allOrders yields every ordering of s (Heap's algorithm).
func allOrders[T any](s []T) func(yield func([]T) bool) {
	return func(yield func([]T) bool) {
		a := slices.Clone(s)
		c := make([]int, len(a))
		if !yield(slices.Clone(a)) {
			return
		}
		for i := 0; i < len(a); {
			if c[i] < i {
				if i%2 == 0 {
					a[0], a[i] = a[i], a[0]
				} else {
					a[c[i]], a[i] = a[i], a[c[i]]
				}
				if !yield(slices.Clone(a)) {
					return
				}
				c[i]++
				i = 0
			} else {
				c[i] = 0
				i++
			}
		}
	}
}

func ExampleReplay() {
	// Statuses as they arrived: the clerk's 03 overtook the automatic 01,
	// then the sender asked for the document back while it was being
	// processed, and the recipient refused.
	events := []envelope.StatusEvent{
		{Code: envelope.StatusAccepted, From: envelope.PartyRecipient},
		{Code: envelope.StatusArrived, From: envelope.PartyRecipient},
		{Code: envelope.StatusRecallRequested, From: envelope.PartySender},
		{Code: envelope.StatusProcessing, From: envelope.PartyRecipient},
		{Code: envelope.StatusRecallRefused, From: envelope.PartyRecipient},
		{Code: envelope.StatusRecallRefused, From: envelope.PartyRecipient},
	}
	l, errs := envelope.Replay(events)
	fmt.Println(l.State, "-", l.State.Name())
	fmt.Println("seen:", l.Seen)
	for _, err := range errs {
		fmt.Println(err)
	}
	// Output:
	// processing - Đang xử lý
	// seen: 01,03,05,13,16
	// envelope: duplicate status: 16 (Recall refused) from recipient in state processing
}
