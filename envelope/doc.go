// Package envelope is the edXML packet model of QCVN 102:2016/BTTTT: the
// types of edoc and status packets, a strict encoder, a lenient parser,
// validation with typed field errors, agency codes (mã định danh) and the
// processing-status lifecycle.
//
// # Strict when sending, lenient when receiving
//
// [Encode] emits exactly one layout: the prefix layout and element order of
// the regulation as the national axis uses it, yyyy/MM/dd dates, yyyy/MM/dd
// HH:mm:ss timestamps in UTC+7, and the same bytes for the same packet. It
// refuses a packet that does not pass [Validate] under [ProfileSend()]. A
// status packet's document element is written in exclusive canonical form
// already, so that it can be signed without being read back
// ([EncodeStatus]).
//
// [Parser] accepts what real software sends: stray bytes or a BOM before
// <?xml, CRLF line ends, elements in any order, empty elements, a missing or
// namespace-less Signature, odd agency codes and DocumentIds. Every thing it
// tolerated is reported as a [Warning]. It never rewrites the input bytes: the
// bytes that a signature covers are the bytes the caller keeps.
//
// Leaf values are kept as the strings that were on the wire, typed where the
// type carries meaning ([Date], [Timestamp], [StatusCode], [Priority] …), so
// nothing received is lost and a value's format is judged by [Validate], which
// names the field path of every problem.
//
// [ProfileReceive()] refuses only what cannot be routed, stored or answered.
// What it takes although the regulation forbids it — a TraceHeader a hub
// added with no OrganId, or "null" as one; one agency listed in To under
// both forms of its code — [ValidateWithWarnings] reports as warnings.
//
// # Hostile input
//
// Packets come from peers, and a peer may be hostile. Before it builds any
// tree, [Parser] scans the input once and refuses, with [ErrForbiddenXML], a
// <!…> declaration (DOCTYPE, ENTITY) anywhere, and input over its limits on
// markup, attributes per element and in all, the length of an attribute
// value, namespace declarations per element and in all, and distinct
// namespace prefixes; the tree build then bounds the nesting depth. The
// defaults are generous for real packets, which have a handful of each, and
// keep what reading a packet costs, in time and memory, linear in its size.
//
// This package imports nothing of lienthong's; it depends on etree and the
// standard library only.
package envelope
