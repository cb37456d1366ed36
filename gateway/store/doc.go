// Package store keeps the gateway's durable state in one SQLite database,
// through modernc.org/sqlite (pure Go, so the binary stays static). Its
// [Store] implements gateway.Store.
//
// # Basics
//
// [Open] opens (or creates) the file, applies the embedded migrations and
// returns a Store; [Store.Close] closes it. Every method of the Store is
// one transaction: what it returns without error is on disk, and what
// fails leaves nothing behind. Every method that changes something appends
// to the audit chain in the same transaction. [Store.Check] verifies the
// invariants below; the tests run it after each test, and an operator
// command can run it on a live database ([Store.CheckWith] also hashes
// every packet's bytes). [Store.Backup] copies a live store consistently,
// the database from one snapshot and exactly the packet files it names.
//
// # Schema
//
// Times are INTEGER unix milliseconds, UTC, and come back as time.Time in
// UTC: a time given to the store is kept to the millisecond. Tables are
// STRICT.
//
//   - packets (id, kind, sha256, size, data, created_at): every edXML
//     packet, byte for byte as signed or received, once. A document's id is
//     its packet's id (gateway.NewID). The bytes of a packet above 1 MiB
//     are in a file of their own, named by the packet's id, in the
//     directory named after the database file with -packets added
//     (lienthong.db-packets, 0700; the files 0600): their row has no data
//     and no chunks, and its sha256 is of the file's bytes as written.
//     The file is written and synced before its row is committed, and
//     never written again nor removed while its row exists; Open removes
//     the files without a row once older than a minute (see orphanGrace
//     in packetfiles.go). A store made before
//     keeps its large packets in packet_chunks, 1 MiB per row, and they
//     are read from there.
//   - documents: one row per document, direction 'out' or 'in', with the
//     edXML fields the lists need, the signature verdict, the number of
//     signed PDF attachments (signed_pdfs), the revoked_at /
//     updated_by / replaced_by marks, and warnings: the JSON array of
//     gateway.Document.Warnings (empty text for none), what was odd about the
//     document but did not stop it. Two partial unique
//     indexes carry the dedupe rules: (agency, document_id) for outgoing
//     documents, (agency, sender, document_id) for incoming ones. A
//     lower-cased search column serves DocumentQuery.Text.
//   - deliveries (document, recipient, recipient_name, transport, state,
//     before_recall, seen, sent_at, updated_at, arrived_at, accepted_at,
//     done_at): a document with one recipient. state and before_recall
//     are envelope.State identifiers ("arrived"), seen the
//     envelope.StatusSet text ("01,03"): readable with the sqlite3 shell,
//     and stable, since those texts never change. A state changes only
//     through envelope.Lifecycle.Apply, read and written back in the
//     transaction that records the status. The milestones arrived_at,
//     accepted_at and done_at are the own times of the statuses 01, 03
//     and 06 the lifecycle took first (an incoming delivery's 01 is its
//     reception); NULL until it did. created_at, agency and report_document
//     are the delivery's copy of what the quarterly report reads of its
//     document (its creation, its agency, and the text of its fields),
//     made when the delivery is inserted: a document's fields never change
//     after.
//     note is the description of its last applied status (Delivery.Note),
//     written with the lifecycle by the statement that applies a status.
//   - events: immutable facts about deliveries (queued, sent, received,
//     status, status_refused, revoked, updated, replaced), in seq order.
//     msg_id, unique (NULL but for a received status, and indexed only
//     then), is the Nats-Msg-Id of a received status, so that a
//     redelivered status is known as a duplicate. Triggers refuse UPDATE
//     and DELETE, so that seq, the largest one plus one (no
//     AUTOINCREMENT, which writes a page more per insert), is never taken
//     again.
//   - outbox: packets waiting to be published, one row per (packet,
//     recipient), with attempts, next_at and last_error. MarkSent deletes
//     the row; the sent event stays. An id names an item while it is
//     queued: that of an item sent may be given again (no AUTOINCREMENT,
//     which writes a page more per insert; migration 0019). The store keeps in memory when the
//     earliest row is due, as its commits left the outbox (read at Open,
//     and by MarkSent and Postpone after their changes; lowered by each
//     row queued, before the update that queued it returns), so that
//     DueOutbox reads nothing when nothing can be due: most of the
//     dispatcher's wake-ups and ticks.
//   - quarantine: received packets that were not accepted, with the
//     reason; msg_id is unique. quarantine_packets (packet_id, sha256,
//     size, kept_at) holds each packet kept there once: the same bytes
//     refused under another message id are another entry of the packet
//     kept; kept_at is the reception of its latest entry. The quarantine
//     is bounded in bytes and entries (Options): past the bound of
//     entries, the oldest entries are dropped one by one; past that of
//     bytes, the packet received least recently with its entries; a
//     packet without entries left has its row left without bytes and its
//     file removed (see quarantine.go). quarantine_totals, one row kept by triggers, holds
//     the entries and bytes the bounds are compared with.
//   - idempotency (agency, key, request_hash, document): the DMS's
//     Idempotency-Key per agency.
//   - audit (seq, at, action, document, detail, prev_hash, hash): the
//     append-only chain. detail is JSON; hash is the hex SHA-256 over
//     prev_hash, seq, at, action, document and detail, each written as its
//     length (8 bytes, big-endian) then its bytes; the first row's
//     prev_hash is 64 zeros. Triggers refuse UPDATE and DELETE; someone
//     with the file can drop them, and Check then finds the broken link.
//   - ping (id = 1, at): one row that [Store.Ping] rewrites, so that a
//     readiness probe makes a real write; it is outside the audit chain.
//   - directory (key, version, value, updated_at, revision): the signed
//     directory records the gateway applied, so that it starts with what
//     it last believed. revision identifies the record's value in
//     LT_DIRECTORY as the bus hands it out (the bucket's revision tagged
//     with the bucket's epoch, see gateway.DirectoryUpdate; 0: not known,
//     read again): a restart fetches only the values whose revision it
//     lacks.
//   - directory_briefs (key, version, revision, brief): beside an agency's
//     record, what the gateway's directory made of it (the entry without
//     its certificates, their fingerprints, the digests of the record and
//     of its signer's certificate), kept only beside the record of its
//     version and deleted with it; a restart reads these, a tenth of the
//     records' size, and opens no record (gateway/directory_brief.go).
//
// Indexes serve the lists: documents by (created_at, id) and by (agency,
// created_at, id), the outbox by (next_at, id), quarantine by
// (received_at, id); the
// metrics ([Store.Stats]): incoming documents by due_date; and the
// quarterly report ([Store.ReportRows]), which reads a quarter's
// deliveries from one index alone, with no look-up of their documents:
// deliveries_created (created_at, document, agency, report_document, the
// text of the fields the report reads of a delivery, an expression SQLite
// computes when a row is written, and note; migration 0014). The lists'
// State and Recipient filters read a document's deliveries by their key
// (document, recipient), the state from their rows: deliveries_report
// (document, recipient, state), which held it, cost a page at every
// status (dropped by migration 0018). One index holds the events, by
// delivery: events_delivery (document, recipient, kind, seq,
// description; migration 0015) gives ApplyStatus a delivery's statuses of
// a kind, applied or refused, to tell a replayed one, a document's
// events, sorted by seq once read, and Check a delivery's Note as its
// events say it, in one look-up, to compare with the note its row keeps,
// which the reads of deliveries read. Each index a row goes into is a page
// that its commit writes to the log (two syscalls and a checksum, and a
// copy at the next checkpoint): an index is added only where a read
// needs it, and TestStore_DeliveryCost holds what each step of a
// delivery writes.
//
// # Durability
//
// The database is in WAL mode with synchronous=FULL by default: the log is
// synced at every commit, so a document acknowledged to a DMS survives a
// power loss. A packet file, and the directory's entry for it, are synced
// before the transaction that records its row begins, outside the
// writer's critical section. Options.Synchronous may choose NORMAL, which
// syncs only at checkpoints: safe against a crash of the process, not of
// the machine.
// Foreign keys are enforced.
//
// Writes go through one connection ([database/sql.DB] with one open
// connection) and begin with BEGIN IMMEDIATE, so a write transaction takes
// the write lock first and never fails half-way on a lock upgrade; writes
// queue in Go rather than in SQLite's busy handler. One writer goroutine,
// started by [Open] and stopped by [Store.Close], runs them: those that
// queue while it commits are committed together, up to
// [Options.MaxBatch], each in its SAVEPOINT, with one sync (group
// commit). A caller whose context ends while its update is queued leaves
// at once, the update not applied; once the writer has taken it, the caller
// waits for its batch's outcome. Close commits the batch in progress and
// fails the updates still queued. The writer keeps the audit chain's last
// row in memory, and reads it again after any update that failed (its rows rolled
// back), a failed commit, or a commit by another connection (the
// connection's data version, SQLITE_FCNTL_DATA_VERSION). The writer's
// statements run detached from their callers' contexts: a context that ends fails an update at its next
// statement, not in the middle of one (cachingConn.detached). Reads use a separate
// pool of read-only connections (mode=ro): in WAL mode they see the last
// commit and never wait for the writer. A read of one statement, or of
// rows that never change (a packet and its chunks), runs without BEGIN …
// COMMIT, as the dispatcher's DueOutbox and Packet do: a statement alone
// reads one snapshot all the same. A packet file is read only through its
// row.
//
// # Migrations
//
// The schema is in migrations/NNNN_name.sql, embedded in the binary and
// append-only: a released file is never edited; a change is a new file.
// Each migration runs in its own transaction together with PRAGMA
// user_version = NNNN. A database whose user_version is newer than the
// binary's last migration is refused, so an older binary never writes to
// a schema it does not know.
//
// # Caveats
//
//   - DocumentQuery.Text is matched in the lower-cased text with Go's
//     Unicode case folding (Đ and đ match); it does not normalize, so text
//     is expected in NFC, as lienthong writes it.
//   - Check reads the whole audit chain and every delivery; it is not for
//     every request.
//   - Times are kept to the millisecond.
//   - A backup is the database and its -packets directory: a copy of the
//     database (VACUUM INTO) then of the directory holds every file the
//     copy names, since files are never changed nor removed while their
//     row exists; the newer files copied have no row, and Open removes
//     them.
//   - A row another process queues or brings forward in the outbox is due
//     for DueOutbox once this store writes again (it then sees the other
//     commit by the data version); lienthong itself queues only through
//     the Store.
package store
