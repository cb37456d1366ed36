// Package api is the HTTP API v1 of a lienthong gateway: the
// document-management systems (DMS) of the agencies the gateway hosts post
// their outgoing documents through it and fetch the incoming ones.
//
// [NewHandler] lists every route in one place; each resource has its
// handler file; every answer is JSON but the packet and attachment
// downloads. The description of record is the OpenAPI 3.1 document
// served at GET /api/v1/openapi.json ([OpenAPI]).
//
// # Routes
//
//	POST /api/v1/documents                        send a document: raw edXML or multipart metadata + files
//	GET  /api/v1/documents                        list (direction, status, since, until, recipient, q, agency, cursor, limit; wait=N seconds for something to list)
//	GET  /api/v1/documents/{id}                   a document with its verdict, deliveries and events
//	GET  /api/v1/documents/{id}/packet            the edXML packet, ETag its SHA-256
//	GET  /api/v1/documents/{id}/attachments/{n}   the n-th attachment (from 1), decoded
//	GET  /api/v1/documents/{id}/attachments       the attachments: name, type, size, SHA-256, a problem (a ZIP that does not open)
//	POST /api/v1/documents/{id}/status            report a processing status
//	GET  /api/v1/directory                        the directory, a page (q, under, level, cursor, limit; certificates=1 for the PEMs)
//	GET  /api/v1/openapi.json                     the OpenAPI description (no key needed)
//
// # Keys and scope
//
// Every route but the description needs "Authorization: Bearer <key>";
// a missing or unknown key is 401 with WWW-Authenticate: Bearer. A [Key]
// acts for some hosted agencies. Lists hold only their documents. Reading
// or posting a status about a document of another agency is 404, exactly
// as for a document that does not exist, so that a key learns nothing of
// documents outside its scope. Sending for an agency outside the scope
// (the packet's From, the metadata's from, the list's agency) is 403. The
// scope is what the gateway gets as Submission.Allowed and
// StatusRequest.Allowed.
//
// # Sending
//
// A raw packet (application/xml, text/xml or application/edxml+xml) goes
// to gateway.Submit as it is. A multipart/form-data request has a
// "metadata" part ([Metadata], JSON) and file parts; the handler writes
// the edoc (DocumentId by envelope.MakeDocumentID, a TraceHeader for the
// sender at the current time in Vietnam), encodes it strictly with
// envelope.Encode and submits it. The answer is 202 [Accepted] with
// Location.
//
// An Idempotency-Key header is passed to the gateway with a request hash:
// the SHA-256 of the media type and the body for a raw packet, of the
// parts (names, file names, content types, contents) for a multipart one,
// whose boundary a client may draw anew on each retry. A replay answers
// like the first time — 202, the same id — with "replay": true and the
// header Idempotent-Replayed: true, so that a client retrying blindly sees
// the same outcome; the same key with another request is 409.
//
// The body is limited to the gateway's MaxPacketSize (http.MaxBytesReader),
// so a larger one is refused before it is read in full: 413 too-large.
//
// # Errors
//
// Every error has the body {"error": {...}} of [Error]: a stable code,
// messages in Vietnamese and English, and for field problems "fields"
// with the element paths of envelope.ValidationError unchanged
// ("MessageHeader/To[2]/OrganId"), or a JSON member or parameter name.
//
//	400 malformed              not well-formed JSON, XML, multipart or edXML (envelope.ErrMalformed), a status packet
//	400 forbidden-xml          DOCTYPE, entity declarations, nesting too deep, too much markup, too many
//	                           attributes on an element or in all, an attribute value too long, too many
//	                           namespace declarations on an element or in all, too many distinct namespace
//	                           prefixes (envelope.ErrForbiddenXML; the limits are envelope.Parser's)
//	400 bad-parameter          a query parameter (direction, status, since, limit, cursor, wait, certificates) or Idempotency-Key
//	401 unauthorized           no key, or an unknown one (WWW-Authenticate: Bearer)
//	403 forbidden              sending or acting for an agency outside the key's scope or not hosted here
//	404 not-found              no such route or document, or a document outside the key's scope
//	405 method-not-allowed     (Allow lists the methods)
//	409 duplicate              the agency already sent this DocumentId; "existing" is that document's id
//	409 idempotency-conflict   Idempotency-Key reused with another request
//	409 transition             the delivery's lifecycle refuses the status (*envelope.TransitionError: MessageVI, Error);
//	                           a status it records without a change of state (04 after 06) is a 202 with a
//	                           "warning" (code late-status) naming the deliveries
//	413 too-large              body or packet above the limit (gateway.ErrTooLarge, envelope.ErrTooLarge)
//	415 unsupported-media-type neither edXML nor multipart; a status body that is not JSON
//	422 validation             envelope.ValidationErrors, as fields; a missing metadata part; a bad status code
//	422 unknown-recipient      recipients not in the directory (fields MessageHeader/To[n]/OrganId), or a
//	                           recall's recipients that are not the document's (field recipients)
//	422 status-not-allowed     this side of the document does not send that code (gateway.ErrStatusNotAllowed)
//	422 reason-required        02 or 13 without a description (field description)
//	422 signature              a packet signed by the DMS that does not verify
//	422 rejected               another refusal of the submission by the gateway
//	422 undecodable-attachment an attachment received whose base64 cannot be decoded
//	500 internal               anything else: logged with the method, path and error, never explained
//	503 unavailable            the gateway is closing (gateway.ErrClosed)
//	503 busy                   POST of a document or a status: the gateway is working on as many requests
//	                           as it takes at once and as many wait, or holds as many bodies in memory
//	                           (gateway.AdmitBody, AdmitWork); nothing was kept; Retry-After says in how
//	                           many seconds to send it again. A body that gives no byte for 30 s is cut.
//	                           A body without Content-Length is taken to be as long as the route allows
//	                           (a packet of the largest size): send Content-Length to post several at once
//
// ErrStatusNotAllowed is 422, not 409: whether a side may send a code
// depends on the document's direction, which never changes, not on its
// state; 409 is kept for what the current state refuses.
//
// # Warnings
//
// A document carries "warnings" (gateway.Document.Warnings) when something
// about it is odd but did not stop it: the receive profile takes packets
// real systems produce — a TraceHeader a hub added without OrganId or with
// "null", one agency listed under both forms of its code (delivered once)
// — and a ZIP attachment that does not open ("unreadable-zip", at
// AttachmentEncoded/Attachment[n]) is kept and served as received. Each
// warning has a path, a stable code and messages in Vietnamese and English.
//
// # What it is handed
//
// [NewHandler] takes the gateway as a [Gateway]: the roles of package
// gateway the DMSs need (reading documents, submitting and posting
// statuses, admission, changes, hosting, the directory), not the whole
// *gateway.Gateway, so that a test may hand it a fake of the roles it
// exercises; and the quarterly reports as a gateway.Reports, which the
// binary makes with gateway/rollup. It imports no other face.
//
// # Logs
//
// Each request is logged once on the logger given to NewHandler: method,
// path, status, duration, bytes, and the key's name and the document's id
// when there are.
package api
