// Package vxp is a gateway's second face to document-management systems:
// the protocol of the national axis's SDK (VNPT's SDKVXP for Java,
// VPCPXRoadSdk for .NET), which every DMS deployed today speaks. A DMS
// moves to lienthong by changing its endpoint to the gateway's
// (http://gateway:8080/XrdAdapter/adapter) and its system id and secret
// to ones the gateway's configuration gives it (vxp.systems); nothing of
// its code changes. The protocol as the SDK really sends it is in
// ../shared/domain/vxp-api.md; this package follows it, and where that
// page says a behaviour is unknown the choice is said below.
//
// It is another face of the same gateway, beside gateway/api, not a
// client of API v1: a packet a DMS sends goes through gateway.Submit
// (validation, signing by the gateway if unsigned, durable before the
// answer) and a status through gateway.PostStatus (the lifecycle), as on
// API v1; what its agencies receive is read from the same store.
//
// # Requests
//
// Every request carries its parameters as signed headers: the SDK puts
// them in a map, sends each as XroadVnpt-key, and signs the map's JSON
// (XroadVnpt-sign-header) with HMAC-SHA256 keyed by the secret
// (XroadVnpt-hash-header). The face checks the HMAC over the literal
// signed header (its key order is a Java HashMap's: never rebuilt), in
// constant time, and takes the parameters from it, not from the loose
// headers. Its systemid must be the calling system's. The SDK fixes the
// timestamp when the DMS starts and keeps it for the life of the process,
// so no freshness is required: a timestamp older than a week is logged,
// once. The map also keeps every key of every earlier call: each
// operation reads only its own keys. docId and docid (DMSs spell it both
// ways) may then name two items, this call's and a stale one: the one the
// system has not taken yet is meant, or else the one its previous call was
// not about; if neither tells, the call fails (ErrorCode 11).
//
// # Operations
//
//	sendEdoc             a document or a status packet, as the packet says (messagetype is checked,
//	                     not trusted: the SDK sends an earlier call's when a DMS gives none); the
//	                     body is the file and a CRLF as application/octet-stream (the SDK meant
//	                     multipart; a multipart body's file_doc part is taken too); hash-file, the
//	                     SHA-256 in hex without leading zeros (or with them), must match; from, when
//	                     given, must be one of the system's agencies, and so must the packet's
//	                     sender. Documents are routed by their To, which their signature covers; a
//	                     "to", when given, must name the same agencies, or the document is refused
//	                     (11): an earlier call's "to", which the SDK sends again, must never send a
//	                     document to fewer agencies or others. Statuses are routed by ResponseFor, a
//	                     recall (13) to every recipient ("to" is not read: DMSs give none with a
//	                     status, so it is always an earlier call's). DocId: the document's id; the
//	                     same bytes sent again are the same document, with the same DocId (DMSs
//	                     retry); another packet with a DocumentId the agency used is refused (16),
//	                     DocId naming the document that has it. A status's DocId is a digest of
//	                     its packet; a status already recorded for the document is not recorded
//	                     or sent again, and gets the same answer.
//	getReceivedEdocList  what the system's agencies received and it has not taken: documents
//	                     (messagetype edoc, the default) or statuses other agencies sent about
//	                     their documents that the lifecycle applied (status), at most 500, those
//	                     not yet tried first, then those the DMS failed to take, each oldest first
//	                     (the SDK has no paging: the rest come once these are taken). docId is a
//	                     UUID. status is INITIAL, PROCESSING or FAIL; times are dd/MM/yyyy HH:mm:ss,
//	                     Vietnam's; fromDate and toDate in that form bound when each was received.
//	getEdoc              an item's packet, as received, in base64 (data, "" on failure)
//	downloadEdoc         (GET) the same, raw; on any failure, authentication's too, an empty body (the
//	                     SDK calls any non-empty body a success), the code in X-Vxp-ErrorCode
//	updateStatus         done takes an item off the list; fail keeps it listed, to try again (a
//	                     packet is never dropped because a DMS failed once); processing keeps it
//	                     listed. description is kept. It is the transport's acknowledgement, not a
//	                     QCVN status: those are status packets sent with sendEdoc.
//	getSentEdocList      each recipient's state of the documents the system's agencies sent: of the
//	                     one docId names (a sendEdoc DocId; other values, left from earlier calls,
//	                     are ignored) or the latest 200 (2,000 recipients). sendStatus PROCESSING or DONE
//	                     (the axis has it); receiveStatus the delivery's state (arrived, accepted,
//	                     assigned, processing, done, rejected, recall_requested, recalled),
//	                     receiveStatusDesc its Vietnamese name.
//	countReceiveEdoc     how many documents, statuses getReceivedEdocList would list (count)
//	countReceiveStatus
//	getAgenciesList      the directory, whole (the SDK has no paging), made once per change of the
//	                     directory and kept gzipped: id and code the agency's code, pid its
//	                     parent's, oldCode its first former code
//	getAgenciesListQD20  the same by level (level 1: 000.00.00.Xnn … 4), code102 the code
//	getSynchronizeUnit   the same with each entry's version, its gateway (centerCode), modifyDate
//	registerAgency       refused: the directory is what its administrator signed (lienthong
//	deleteAgency         directory put, remove); no gateway, nor a DMS through it, writes it
//
// # Answers
//
// Always HTTP 200 and the JSON envelope {"status","ErrorCode","ErrorDesc",
// …}: the SDK ignores the status code and returns null to the DMS for a
// body that is not JSON. The three fields are strings on every path;
// success is "OK", "0", "Thanh cong"; sendEdoc's DocId and getEdoc's data
// are there on failure too (the SDK reads them unconditionally). The
// answer is ASCII only: sendEdoc's is read as US-ASCII, so non-ASCII
// characters are written as \uXXXX. ErrorDesc says what is wrong in
// Vietnamese and, in parentheses, in English.
//
// # ErrorCodes
//
// The real axis's non-zero codes are not known; these are lienthong's:
//
//	0   success
//	1   the system id is not configured, or the HMAC (XroadVnpt-hash-header) is not its secret's
//	    (one answer for both, so that system ids cannot be found by trying; the log says which)
//	3   the signed header is missing, not JSON, or names another system
//	4   from, or the packet's sender, is not an agency of the system
//	5   hash-file is missing or is not the SHA-256 of the body
//	6   the body is empty, not XML, not edXML, or uses forbidden XML
//	7   the packet breaks QCVN 102's rules (the first problems are named)
//	8   a recipient is not in the directory
//	9   the status is not allowed where the document stands (or not by this side)
//	10  the system has no item by that docId (another system's is not said)
//	11  a parameter's value is not one the operation takes (messagetype, status, level, a "to"
//	    that is not the packet's To, a docId and a docid that cannot be told apart …)
//	12  the operation is not for DMSs (registerAgency, deleteAgency)
//	13  the packet is larger than the gateway takes (gateway.maxPacketSize)
//	14  no such operation
//	15  a status names a document its sender's agency does not have
//	16  another packet with a DocumentId the agency used before (DocId names that document)
//	99  the gateway could not do it now (store, NATS), or a sendEdoc found it working on as many
//	    requests as it takes at once (gateway.AdmitBody, AdmitWork; the answer has Retry-After): try again
package vxp
