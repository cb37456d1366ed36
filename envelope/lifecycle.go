package envelope

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// State is where a document stands with one of its recipients, as derived
// from the status packets exchanged about it. The zero value is [StateSent].
//
// [State.String] gives a stable identifier for storage and JSON (the
// encoding.TextMarshaler methods use it); [State.Name] gives the Vietnamese
// label for people.
type State int

// The states of the processing-status lifecycle; see [Lifecycle] for the
// transitions.
const (
	// StateSent: the document was sent and no status came back yet.
	StateSent State = iota
	// StateArrived: the recipient's system has it (01).
	StateArrived
	// StateRejected: the recipient refused it (02). Final.
	StateRejected
	// StateAccepted: registered by the recipient's clerk (03).
	StateAccepted
	// StateAssigned: assigned to someone for processing (04).
	StateAssigned
	// StateProcessing: being processed (05).
	StateProcessing
	// StateDone: processing finished (06). Final, but the sender may still
	// ask for a recall (13).
	StateDone
	// StateRecallRequested: the sender asked for the document back (13) and
	// the recipient has not answered yet.
	StateRecallRequested
	// StateRecalled: the recipient agreed to give the document back (15).
	// Final.
	StateRecalled
)

// stateInfo holds the identifier and the Vietnamese label of every state,
// indexed by State.
var stateInfo = [...]struct {
	id     string
	nameVI string
}{
	StateSent:            {"sent", "Đã gửi"},
	StateArrived:         {"arrived", "Đã đến"},
	StateRejected:        {"rejected", "Bị từ chối tiếp nhận"},
	StateAccepted:        {"accepted", "Đã tiếp nhận"},
	StateAssigned:        {"assigned", "Đã phân công xử lý"},
	StateProcessing:      {"processing", "Đang xử lý"},
	StateDone:            {"done", "Hoàn thành"},
	StateRecallRequested: {"recall_requested", "Đang yêu cầu lấy lại"},
	StateRecalled:        {"recalled", "Đã lấy lại"},
}

// valid reports whether s is one of the nine states.
func (s State) valid() bool { return s >= 0 && int(s) < len(stateInfo) }

// String returns the stable identifier of the state: "sent", "arrived",
// "rejected", "accepted", "assigned", "processing", "done",
// "recall_requested" or "recalled". Identifiers are meant for storage and
// JSON and never change. A value outside the nine states gives "State(n)".
func (s State) String() string {
	if !s.valid() {
		return "State(" + strconv.Itoa(int(s)) + ")"
	}
	return stateInfo[s].id
}

// Name returns the Vietnamese label of the state, such as "Đã tiếp nhận".
// A value outside the nine states gives "Trạng thái không xác định (n)".
func (s State) Name() string {
	if !s.valid() {
		return "Trạng thái không xác định (" + strconv.Itoa(int(s)) + ")"
	}
	return stateInfo[s].nameVI
}

// Final reports whether the state ends the document's processing:
// [StateRejected], [StateDone] and [StateRecalled]. A final state takes no
// further progress, but [StateDone] still takes a recall request (13): a
// finished document can be recalled.
func (s State) Final() bool {
	return s == StateRejected || s == StateDone || s == StateRecalled
}

// ParseState returns the state whose identifier ([State.String]) is s. An
// unknown identifier gives an error wrapping [ErrBadCode].
func ParseState(s string) (State, error) {
	for i, info := range stateInfo {
		if info.id == s {
			return State(i), nil
		}
	}
	return StateSent, fmt.Errorf("envelope: lifecycle state %q: %w", s, ErrBadCode)
}

// MarshalText implements [encoding.TextMarshaler] with the identifier of
// [State.String]. It refuses a value outside the nine states.
func (s State) MarshalText() ([]byte, error) {
	if !s.valid() {
		return nil, fmt.Errorf("envelope: lifecycle state %d: %w", int(s), ErrBadCode)
	}
	return []byte(stateInfo[s].id), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseState].
func (s *State) UnmarshalText(text []byte) error {
	v, err := ParseState(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Party is a side of an exchange: the agency that sent the document or one
// of its recipients. The zero value is no party.
type Party int

// The two parties of a document exchange.
const (
	// PartyRecipient is an agency the document was sent to. It emits every
	// status code except 13.
	PartyRecipient Party = iota + 1
	// PartySender is the agency that sent the document. It emits 13.
	PartySender
)

// String returns "recipient" or "sender", or "Party(n)" for another value.
func (p Party) String() string {
	switch p {
	case PartyRecipient:
		return "recipient"
	case PartySender:
		return "sender"
	}
	return "Party(" + strconv.Itoa(int(p)) + ")"
}

// Name returns the Vietnamese label of the party: "Bên nhận" or "Bên gửi",
// or "Bên không xác định (n)" for another value.
func (p Party) Name() string {
	switch p {
	case PartyRecipient:
		return "Bên nhận"
	case PartySender:
		return "Bên gửi"
	}
	return "Bên không xác định (" + strconv.Itoa(int(p)) + ")"
}

// StatusSet is a set of status codes, such as the codes a [Lifecycle] has
// already applied. The zero value is the empty set. It holds only the nine
// codes of the code list: the bit of code nn is 1<<nn.
type StatusSet uint32

// statusBit returns the bit of a valid code, or 0.
func statusBit(c StatusCode) StatusSet {
	if !c.Valid() {
		return 0
	}
	n, _ := strconv.Atoi(string(c)) // a valid code is two digits
	return 1 << n
}

// Has reports whether c is in the set.
func (s StatusSet) Has(c StatusCode) bool {
	b := statusBit(c)
	return b != 0 && s&b != 0
}

// Add puts c in the set. A code outside the code list is ignored.
func (s *StatusSet) Add(c StatusCode) { *s |= statusBit(c) }

// Codes returns the codes in the set in code-list order.
func (s StatusSet) Codes() []StatusCode {
	var codes []StatusCode
	for _, c := range StatusCodes() {
		if s.Has(c) {
			codes = append(codes, c)
		}
	}
	return codes
}

// String returns the codes of the set in code-list order, separated by
// commas, such as "01,03,05"; the empty set gives "".
func (s StatusSet) String() string {
	var b strings.Builder
	for i, c := range s.Codes() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(c))
	}
	return b.String()
}

// MarshalText implements [encoding.TextMarshaler] with the form of
// [StatusSet.String].
func (s StatusSet) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler]: it reads
// comma-separated codes, each as [ParseStatusCode] does. An empty text is
// the empty set.
func (s *StatusSet) UnmarshalText(text []byte) error {
	var set StatusSet
	if t := strings.TrimSpace(string(text)); t != "" {
		for _, f := range strings.Split(t, ",") {
			c, err := ParseStatusCode(f)
			if err != nil {
				return err
			}
			set.Add(c)
		}
	}
	*s = set
	return nil
}

// Refusals of a status by [Lifecycle.Apply]. Every [TransitionError] unwraps
// to exactly one of these, so callers can test the kind with errors.Is.
var (
	// ErrDuplicateStatus: the same code was already applied (for 13, 15
	// and 16: the recall it belongs to is already in that state). A
	// duplicate is harmless: it is usually the same packet delivered
	// twice.
	ErrDuplicateStatus = errors.New("envelope: duplicate status")
	// ErrFinalState: the document is rejected, recalled, or done and the
	// status would make it progress again.
	ErrFinalState = errors.New("envelope: document is in a final state")
	// ErrWrongParty: the status came from the party that does not emit
	// that code (13 from a recipient, any other code from the sender).
	ErrWrongParty = errors.New("envelope: status sent by the wrong party")
	// ErrNoRecallPending: an answer to a recall (15, 16) came while no
	// recall request (13) was waiting for an answer.
	ErrNoRecallPending = errors.New("envelope: no recall request pending")
	// ErrUnknownStatus: the code is not one of the nine codes.
	ErrUnknownStatus = errors.New("envelope: unknown status code")
	// ErrStatusConflict: the status contradicts one already applied: a
	// refusal (02) after the document was accepted (03) or later.
	ErrStatusConflict = errors.New("envelope: status conflicts with an earlier status")
)

// reasonsVI holds the Vietnamese reason of each refusal.
var reasonsVI = [...]struct {
	err    error
	reason string
}{
	{ErrDuplicateStatus, "trạng thái này đã được ghi nhận trước đó"},
	{ErrFinalState, "văn bản đã ở trạng thái cuối, không nhận thêm trạng thái này"},
	{ErrWrongParty, "mã trạng thái này không do bên đó gửi"},
	{ErrNoRecallPending, "không có yêu cầu lấy lại nào đang chờ trả lời"},
	{ErrUnknownStatus, "mã trạng thái không có trong danh mục"},
	{ErrStatusConflict, "trạng thái mâu thuẫn với trạng thái đã nhận trước đó (văn bản đã được tiếp nhận)"},
}

// TransitionError is the refusal of a status by [Lifecycle.Apply]: the
// state it was refused in, the status and the party that sent it, and the
// reason, one of the sentinels ErrDuplicateStatus … ErrStatusConflict.
type TransitionError struct {
	From  State      // state of the lifecycle when the status came
	Code  StatusCode // the refused status code
	Party Party      // the party that sent it
	Err   error      // the reason: one of the sentinel errors
}

// Error returns an English message, such as
// "envelope: duplicate status: 06 (Done) from recipient in state done".
func (e *TransitionError) Error() string {
	reason := "envelope: status refused"
	if e.Err != nil {
		reason = e.Err.Error()
	}
	return fmt.Sprintf("%s: %s (%s) from %s in state %s",
		reason, e.Code, e.Code.NameEN(), e.Party, e.From)
}

// MessageVI returns the message in Vietnamese, for clerks, such as
// "Trạng thái 06 (Hoàn thành) của bên nhận không được ghi nhận khi văn bản
// đang ở trạng thái “Hoàn thành”: trạng thái này đã được ghi nhận trước đó."
func (e *TransitionError) MessageVI() string {
	reason := "trạng thái không hợp lệ"
	for _, r := range reasonsVI {
		if errors.Is(e.Err, r.err) {
			reason = r.reason
			break
		}
	}
	code := string(e.Code)
	if e.Code.Valid() {
		code += " (" + e.Code.Name() + ")"
	}
	return fmt.Sprintf("Trạng thái %s của %s không được ghi nhận khi văn bản đang ở trạng thái “%s”: %s.",
		code, strings.ToLower(e.Party.Name()), e.From.Name(), reason)
}

// Unwrap returns the reason, so that errors.Is(err, ErrFinalState) and the
// like work on a *TransitionError.
func (e *TransitionError) Unwrap() error { return e.Err }

// Lifecycle is the processing status of a document with one recipient, as
// the gateway derives it from status packets. The zero value is a document
// just sent. A Lifecycle is a value: [Lifecycle.Apply] returns a new one and
// never changes the one it is called on, so a caller can keep every status
// as an immutable event and derive the state again with [Replay].
//
// No regulation defines the legal transitions; these are the gateway's
// rules, after the diagram in the domain notes:
//
//	(sent) ─01→ ARRIVED ─02→ REJECTED (final)
//	ARRIVED ─03→ ACCEPTED ─04→ ASSIGNED ─05→ PROCESSING ─05→ PROCESSING
//	ACCEPTED|ASSIGNED|PROCESSING ─06→ DONE (final)
//	any state but REJECTED, RECALLED ─13→ RECALL_REQUESTED ─15→ RECALLED (final)
//	                                                      └─16→ the state before 13
//
// # Progress and out-of-order statuses
//
// Statuses can arrive out of order, so progress codes are ranked
// (sent < arrived 01 < accepted 03 < assigned 04 < processing 05 < done 06)
// and the state is the furthest one reached. A progress code moves the
// state forward to its own rank from any lower rank, skipping what lies
// between: 03 before 01 gives accepted, 06 on arrived gives done, 04 may be
// skipped. A late lower code (01 after 03, 03 or 04 after 05) is recorded
// (added to Seen) without error and does not move the state back. Nothing
// moves the state back except 16.
//
//   - 02 (refusal) is legal on sent or arrived and gives rejected, a final
//     state. On accepted or later (done included) it contradicts the
//     acceptance: [ErrStatusConflict].
//   - 05 may repeat: it is never a duplicate.
//   - On done, a late 01, 03 or 04 is recorded without error, but 05 is
//     refused with [ErrFinalState]: since 05 may repeat, a 05 after 06
//     cannot be told from new work on a finished document. The state is
//     done either way.
//   - On rejected, a late 01 is recorded without error (02 is legal on
//     arrived, so 01 never contradicts it); every other code that is not
//     a duplicate is refused with [ErrFinalState].
//   - On recalled, every status that is not a duplicate is refused with
//     [ErrFinalState].
//
// # Recall
//
//   - 13 comes from the sender only. On any state but rejected and
//     recalled (done included) it gives recall_requested and keeps the
//     state it left in BeforeRecall.
//   - 15 on recall_requested gives recalled (final); BeforeRecall is kept,
//     as the state the document had when it was given back.
//   - 16 on recall_requested returns to BeforeRecall, and BeforeRecall is
//     reset to its zero value. A new 13 may follow.
//   - 15 or 16 with no recall pending: [ErrNoRecallPending].
//   - While a recall is pending, progress codes (01–06) apply to
//     BeforeRecall by the rules above and the state stays recall_requested:
//     13 → 05 → 16 lands on processing. A 02 on a pending recall follows
//     the 02 rule applied to BeforeRecall.
//
// # Refusals
//
// A refused status leaves the lifecycle as it was and gives a
// *[TransitionError] whose reason is checked in this order:
//
//  1. [ErrUnknownStatus]: the code is not one of the nine.
//  2. [ErrWrongParty]: 13 from a recipient, or another code from the
//     sender.
//  3. [ErrDuplicateStatus]: 01, 02, 03, 04 or 06 already in Seen; 13 while
//     a recall is pending; 15 on recalled; 16 when a 16 was applied before
//     and no recall is pending or accepted. Duplicates of 13, 15 and 16 are
//     judged by the recall's state, since a recall may be requested again
//     after a 16; a 13 delivered twice after its 16 therefore counts as a
//     new request, and transport-level deduplication (by packet id) is the
//     caller's. The duplicate check comes before the final-state check: a
//     repeated 06 on done is a duplicate, not a final-state refusal.
//  4. [ErrFinalState], [ErrStatusConflict], [ErrNoRecallPending], by the
//     rules above.
type Lifecycle struct {
	// State is the current state.
	State State
	// BeforeRecall is the state to return to if the recipient refuses a
	// recall (16). It is set by 13; progress reported while the recall is
	// pending advances it. It is meaningful on StateRecallRequested and
	// StateRecalled, and StateSent otherwise.
	BeforeRecall State
	// Seen holds the codes already applied, for duplicate detection. A late
	// lower status is in Seen even though it did not move the state.
	Seen StatusSet
}

// progressRank ranks the states that progress codes move through; -1 for
// the others.
func progressRank(s State) int {
	switch s {
	case StateSent:
		return 0
	case StateArrived:
		return 1
	case StateAccepted:
		return 2
	case StateAssigned:
		return 3
	case StateProcessing:
		return 4
	case StateDone:
		return 5
	}
	return -1
}

// progressTarget is the state each progress code leads to.
var progressTarget = map[StatusCode]State{
	StatusArrived:    StateArrived,
	StatusAccepted:   StateAccepted,
	StatusAssigned:   StateAssigned,
	StatusProcessing: StateProcessing,
	StatusDone:       StateDone,
}

// Apply returns the lifecycle after the status code sent by party from, or
// a *[TransitionError] saying why the status is refused; l itself is never
// modified. The rules are those of [Lifecycle]. On a refusal the returned
// lifecycle is l unchanged, so a caller may keep it either way.
func (l Lifecycle) Apply(code StatusCode, from Party) (Lifecycle, error) {
	next, err := l.apply(code, from)
	if err != nil {
		return l, &TransitionError{From: l.State, Code: code, Party: from, Err: err}
	}
	next.Seen.Add(code)
	return next, nil
}

// apply computes the next lifecycle without recording code in Seen, or
// returns the sentinel reason of a refusal.
func (l Lifecycle) apply(code StatusCode, from Party) (Lifecycle, error) {
	if !code.Valid() {
		return l, ErrUnknownStatus
	}
	if from != code.SentBy() {
		return l, ErrWrongParty
	}
	if l.duplicate(code) {
		return l, ErrDuplicateStatus
	}
	next := l
	switch code {
	case StatusRecallRequested:
		if l.State == StateRejected || l.State == StateRecalled {
			return l, ErrFinalState
		}
		next.BeforeRecall = l.State
		next.State = StateRecallRequested
	case StatusRecallAccepted, StatusRecallRefused:
		switch {
		case l.State == StateRejected || l.State == StateRecalled:
			return l, ErrFinalState
		case l.State != StateRecallRequested:
			return l, ErrNoRecallPending
		case code == StatusRecallAccepted:
			next.State = StateRecalled
		default:
			next.State = l.BeforeRecall
			next.BeforeRecall = StateSent
		}
	default: // 01–06
		if l.State == StateRecalled {
			return l, ErrFinalState
		}
		if l.State == StateRecallRequested {
			s, err := progress(l.BeforeRecall, code)
			if err != nil {
				return l, err
			}
			next.BeforeRecall = s
			break
		}
		s, err := progress(l.State, code)
		if err != nil {
			return l, err
		}
		next.State = s
	}
	return next, nil
}

// duplicate reports whether code repeats a status already applied.
func (l Lifecycle) duplicate(code StatusCode) bool {
	switch code {
	case StatusProcessing:
		return false
	case StatusRecallRequested:
		return l.State == StateRecallRequested
	case StatusRecallAccepted:
		return l.State == StateRecalled
	case StatusRecallRefused:
		return l.Seen.Has(code) && l.State != StateRecallRequested && l.State != StateRecalled
	}
	return l.Seen.Has(code)
}

// progress applies a recipient progress code (01–06) to a state that is not
// a recall state, and returns the new state or the reason of a refusal.
func progress(s State, code StatusCode) (State, error) {
	if s == StateRejected {
		if code == StatusArrived {
			return s, nil // a late 01: 02 is legal on arrived
		}
		return s, ErrFinalState
	}
	if code == StatusRejected {
		if s == StateSent || s == StateArrived {
			return StateRejected, nil
		}
		return s, ErrStatusConflict
	}
	if s == StateDone && code == StatusProcessing {
		return s, ErrFinalState
	}
	if t := progressTarget[code]; progressRank(t) > progressRank(s) {
		return t, nil
	}
	return s, nil // a late lower status, or 05 repeated
}

// StatusEvent is one status about a document and a recipient, as [Replay]
// takes it: the code and the party that sent it.
type StatusEvent struct {
	Code StatusCode // the status code
	From Party      // the party that sent it
}

// Replay applies events in order to the zero [Lifecycle] and returns the
// result with the refusals, one *[TransitionError] per refused event in
// event order (nil if none). A refused event is skipped: it does not change
// the lifecycle.
func Replay(events []StatusEvent) (Lifecycle, []error) {
	var (
		l    Lifecycle
		errs []error
	)
	for _, e := range events {
		next, err := l.Apply(e.Code, e.From)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		l = next
	}
	return l, errs
}
