package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/internal/osmem"
)

// A packet above chunkSize is kept as a file of its own, named by its id,
// in the directory named after the database file with "-packets" added
// (lienthong.db-packets), so that its bytes never go through SQLite's
// write-ahead log and page cache: 67 MB written and fsync'd as a file took
// 56 ms, as 1 MiB rows of packet_chunks 0.4-0.57 s and 31-35 MiB of memory
// outside the Go heap (docs/design/large-packets.md, step A2).
//
// Its row in packets has no bytes (data is empty) and it has no chunks:
// which packet is in a file is told by that rule (inFile) rather than by
// a column of its own, so that the stores written before keep their rows
// as they are, and a large packet stored then is read from its chunks.
// (A column would need a migration, which the tests that run the
// migrations again after an older user_version could not run twice.)
//
// The file is written before the transaction that records the row, outside
// the writer's critical section (an fsync of 56 ms there would hold back
// every other commit): created with O_EXCL, written from the caller's
// buffer and hashed in the same pass (the row's SHA-256 is of the bytes as
// written), fsync'd with its directory, and only then is the row
// committed. A file whose row was not committed (the transaction failed,
// or the packet turned out to be a duplicate) is removed again; a crash
// between the two leaves a file without a row, which Open removes. A file
// is never written again nor removed while its row names it; only a
// quarantined packet dropped from the quarantine (quarantine.go) has its
// row emptied and then its file removed, which a read outside the
// transaction may find (Packet, Check and Backup read the row again).

// inFile is true of a row of packets p whose bytes are in its packet file.
const inFile = `(p.size > 1048576 AND length(p.data) = 0
	AND NOT EXISTS (SELECT 1 FROM packet_chunks c WHERE c.packet_id = p.id))`

// inFile's 1048576 is chunkSize: one of the two conversions overflows,
// and does not compile, if they differ.
const _ = uint(chunkSize-1048576) + uint(1048576-chunkSize)

// orphanGrace is how old a file without a row must be for Check to report
// it, and for Open to remove it: a younger one may be a packet whose
// transaction the gateway, beside which the check runs, has not committed
// yet (it commits within seconds of the file's fsync, or fails and removes
// the file). Open removes only old ones even when it holds the lock: the
// lock goes to the first store to open the directory, which need not be
// the gateway (an operator's store check that was running when the
// gateway started holds it, and the next check would take it), and a
// packet being stored must not lose its file to a check. A younger file
// of a crash stays until a later start.
const orphanGrace = time.Minute

// packetFiles is the directory of a store's packet files.
type packetFiles struct {
	dir string
	// lock is the directory, open and locked (flock, exclusive) by the
	// first store that opened it, for as long as it is open; nil for a
	// store that found it locked by another (the running gateway, when an
	// operator checks its store beside it). Only the store holding the
	// lock removes the files without a row when it opens: the other's may
	// be packets being stored.
	lock *os.File
	// release gives the heap's free pages back before a large packet's
	// buffer is made (see read): Options.MemoryRelease, the process's.
	release *osmem.Limiter
}

// packetDir is the directory of the packet files of the database at path.
func packetDir(path string) string { return path + "-packets" }

// openPacketFiles makes the directory of the packet files if there is
// none and, unless another store has it open, removes the files that no
// committed row names: those of a crash between a file and its row.
func (s *Store) openPacketFiles(ctx context.Context, release *osmem.Limiter) (*packetFiles, error) {
	if release == nil {
		release = new(osmem.Limiter)
	}
	f := &packetFiles{dir: packetDir(s.path), release: release}
	// The packets are an agency's correspondence, as the database is.
	switch err := os.Mkdir(f.dir, 0o700); {
	case err == nil:
		if err := syncDir(filepath.Dir(f.dir)); err != nil {
			return nil, fmt.Errorf("packet files: %w", err)
		}
	case !errors.Is(err, os.ErrExist):
		return nil, fmt.Errorf("packet files: %w", err)
	}
	d, err := os.Open(f.dir)
	if err != nil {
		return nil, fmt.Errorf("packet files: %w", err)
	}
	switch err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); {
	case err == nil:
		f.lock = d
	case errors.Is(err, syscall.EWOULDBLOCK):
		d.Close()
		return f, nil
	default:
		d.Close()
		return nil, fmt.Errorf("packet files: lock %s: %w", f.dir, err)
	}
	if err := s.removeOrphans(ctx, f); err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

// removeOrphans removes the packet files that no row names, once older
// than orphanGrace. It looks them
// up in a write transaction: no row can be committed meanwhile, and a
// packet whose file it removed fails in insertPacket, which looks for its
// file in the transaction that records it, rather than be committed
// without its bytes.
func (s *Store) removeOrphans(ctx context.Context, f *packetFiles) error {
	names, err := f.names()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	err = s.update(ctx, func(tx *sql.Tx) error {
		for _, name := range names {
			if !gateway.ValidID(name) {
				continue // not one of ours: Check reports it
			}
			var found bool
			err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM packets p WHERE p.id = ? AND `+inFile+`)`, name).
				Scan(&found)
			if err != nil {
				return err
			}
			if found {
				continue
			}
			path := filepath.Join(f.dir, name)
			info, err := os.Lstat(path)
			switch {
			case errors.Is(err, os.ErrNotExist):
				continue
			case err != nil:
				return err
			case time.Since(info.ModTime()) < orphanGrace:
				continue // maybe a packet being stored (see orphanGrace)
			}
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("packet files: remove those without a row: %w", err)
	}
	return nil
}

// names lists the directory.
func (f *packetFiles) names() ([]string, error) {
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return nil, fmt.Errorf("packet files: %w", err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// close releases the directory's lock.
func (f *packetFiles) close() error {
	if f == nil || f.lock == nil {
		return nil
	}
	return f.lock.Close() // which releases the flock
}

// path is the file of the packet id, which must be a valid id (it is the
// only thing ever joined to the directory).
func (f *packetFiles) path(id string) (string, error) {
	if !gateway.ValidID(id) {
		return "", fmt.Errorf("packet id %q is not an id made by gateway.NewID", id)
	}
	return filepath.Join(f.dir, id), nil
}

// fileWrites are the packet files written for one update, by packet id.
type fileWrites map[string]*fileWrite

// fileWrite is a packet's file, written and fsync'd.
type fileWrite struct {
	path   string
	sha256 string // hex, of the bytes as written
	size   int64
	// inserted is set by insertPacket when it records the packet's row:
	// if the update then returns no error, the row is committed.
	inserted bool
}

// updatePackets is update for the updates that store packets: it first
// writes each of packets above chunkSize to its file (see above), then
// runs fn, which gives writes to insertPacket, and then removes each file
// whose row was not committed. packets must hold every packet that fn
// inserts: one above chunkSize that is not among them fails insertPacket.
func (s *Store) updatePackets(ctx context.Context, packets []gateway.NewPacket, fn func(tx *sql.Tx, writes fileWrites) error) error {
	writes := fileWrites{}
	defer s.settle(ctx, writes)
	for _, p := range packets {
		if len(p.Data) <= chunkSize {
			continue
		}
		w, err := s.files.write(p)
		if err != nil {
			return err
		}
		writes[p.ID] = w
	}
	err := s.update(ctx, func(tx *sql.Tx) error {
		for _, w := range writes {
			w.inserted = false
		}
		return fn(tx, writes)
	})
	var unknown *commitError
	if err != nil && !errors.As(err, &unknown) {
		for _, w := range writes {
			w.inserted = false
		}
	}
	// A commit whose outcome is unknown keeps the files its transaction
	// recorded (inserted): a read now may not see the row that the
	// next start's recovery finds. Open removes them if it does not.
	return err
}

// packetsOf lists p and, if there is one, reply's packet: the packets of
// an update that stores a packet and the status it answers with.
func packetsOf(p gateway.NewPacket, reply *gateway.Reply) []gateway.NewPacket {
	if reply == nil {
		return []gateway.NewPacket{p}
	}
	return []gateway.NewPacket{p, reply.Packet}
}

// write writes p to its new file, computing its SHA-256 on the way, and
// syncs the file and the directory.
func (f *packetFiles) write(p gateway.NewPacket) (w *fileWrite, err error) {
	path, err := f.path(p.ID)
	if err != nil {
		return nil, err
	}
	// O_EXCL: an id is new (gateway.NewID), and a file is never written
	// twice.
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("packet %s: %w", p.ID, err)
	}
	defer func() {
		if cerr := file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("packet %s: %w", p.ID, cerr)
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	h := sha256.New()
	for off := 0; off < len(p.Data); off += chunkSize {
		piece := p.Data[off:min(off+chunkSize, len(p.Data))]
		h.Write(piece)
		if _, err := file.Write(piece); err != nil {
			return nil, fmt.Errorf("packet %s: %w", p.ID, err)
		}
	}
	if err := file.Sync(); err != nil {
		return nil, fmt.Errorf("packet %s: %w", p.ID, err)
	}
	// The file's name, too, must be on disk before its row is.
	if err := syncDir(f.dir); err != nil {
		return nil, fmt.Errorf("packet %s: %w", p.ID, err)
	}
	return &fileWrite{path: path, sha256: hex.EncodeToString(h.Sum(nil)), size: int64(len(p.Data))}, nil
}

// settle removes the files of writes whose row was not committed. It
// removes one only when a read finds no row for it: a commit reported
// failed may still have been made. A file it cannot settle stays, for the
// next Open to remove if it has no row.
func (s *Store) settle(ctx context.Context, writes fileWrites) {
	for id, w := range writes {
		if w.inserted {
			continue
		}
		var found bool
		err := s.read(ctx, func(db *sql.DB) error {
			return db.QueryRowContext(context.WithoutCancel(ctx),
				`SELECT EXISTS (SELECT 1 FROM packets WHERE id = ?)`, id).Scan(&found)
		})
		if err != nil || found {
			continue
		}
		os.Remove(w.path)
	}
}

// recorded is what insertPacket records of a packet in a file: the hash
// of its write, once the file is known to be there, in the write
// transaction (see removeOrphans).
func (w fileWrites) recorded(p gateway.NewPacket) (*fileWrite, error) {
	fw := w[p.ID]
	if fw == nil {
		return nil, fmt.Errorf("packet %s of %d bytes was not written to its file before its transaction", p.ID, len(p.Data))
	}
	if fw.size != int64(len(p.Data)) {
		return nil, fmt.Errorf("packet %s has %d bytes, but %d were written to its file", p.ID, len(p.Data), fw.size)
	}
	info, err := os.Stat(fw.path)
	if err != nil {
		return nil, fmt.Errorf("packet %s: its file: %w", p.ID, err)
	}
	if info.Size() != fw.size {
		return nil, fmt.Errorf("packet %s: its file has %d bytes, not %d", p.ID, info.Size(), fw.size)
	}
	fw.inserted = true
	return fw, nil
}

// read reads the file of the packet p, whose row says it is there, into
// one buffer of its size.
func (f *packetFiles) read(p *gateway.Packet) error {
	path, err := f.path(p.ID)
	if err != nil {
		return err
	}
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("its file: %w", err)
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return fmt.Errorf("its file: %w", err)
	}
	if info.Size() != p.Size {
		return fmt.Errorf("its file has %d bytes, not %d", info.Size(), p.Size)
	}
	if p.Size >= osmem.Min {
		// The buffer the packet came in (a document received, the
		// request's body) is often garbage not yet collected when its
		// packet is read back (an attachment downloaded after the packet
		// was received), and this one, one allocation, would add the
		// packet's size again to the resident memory: 2.44-2.48 times
		// the packet at the recipient of TestE2E_LargePacket once it had
		// downloaded the attachment, against 1.44 with the free pages
		// given back first. The fetch that brought the packet released
		// them a moment before, through the same limiter: it lets this
		// one through because the packet's buffer was allocated since.
		f.release.FreeOSMemory(time.Now())
	}
	data := make([]byte, p.Size)
	if _, err := io.ReadFull(file, data); err != nil {
		return fmt.Errorf("its file: %w", err)
	}
	p.Data = data
	return nil
}

// check checks every packet the snapshot tx says is in a file: its file is
// there, a regular file of the row's size; and reports the directory's
// other entries, but for the files without a row younger than orphanGrace.
// A file missing is reported only if stillInFile, reading the row again
// outside the snapshot, says it is still in its file: a quarantined
// packet dropped since the snapshot (quarantine.go) lost its file, beside
// a running gateway, as it should.
func (f *packetFiles) check(ctx context.Context, tx *sql.Tx, stillInFile func(id string) (bool, error)) ([]error, error) {
	// tx's snapshot was taken by its first read, before the directory is
	// listed: a file listed whose row was committed after the snapshot
	// is younger than orphanGrace.
	listed := time.Now()
	names, err := f.names()
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT p.id, p.size FROM packets p WHERE `+inFile)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var problems []error
	rowed := make(map[string]bool)
	for rows.Next() {
		var (
			id   string
			size int64
		)
		if err := rows.Scan(&id, &size); err != nil {
			return nil, err
		}
		rowed[id] = true
		path, err := f.path(id)
		if err != nil {
			problems = append(problems, fmt.Errorf("packet in a file: %w", err))
			continue
		}
		info, err := os.Lstat(path)
		if errors.Is(err, os.ErrNotExist) {
			still, rerr := stillInFile(id)
			if rerr != nil {
				return nil, fmt.Errorf("packet %s: %w", id, rerr)
			}
			if !still {
				continue // dropped from the quarantine since the snapshot
			}
		}
		switch {
		case err != nil:
			problems = append(problems, fmt.Errorf("packet %s without its file: %w", id, err))
		case !info.Mode().IsRegular():
			problems = append(problems, fmt.Errorf("packet %s: its file %s is not a regular file", id, path))
		case info.Size() != size:
			problems = append(problems, fmt.Errorf("packet %s: its file has %d bytes, not %d", id, info.Size(), size))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if rowed[name] {
			continue
		}
		info, err := os.Lstat(filepath.Join(f.dir, name))
		switch {
		case errors.Is(err, os.ErrNotExist):
			// Removed since it was listed: a packet that was not stored.
		case err != nil:
			problems = append(problems, fmt.Errorf("packet file %s: %w", name, err))
		case !gateway.ValidID(name) || !info.Mode().IsRegular():
			problems = append(problems, fmt.Errorf("%s in %s is not a packet file", name, f.dir))
		case listed.Sub(info.ModTime()) >= orphanGrace:
			problems = append(problems, fmt.Errorf("packet file without packet: %s", name))
		}
	}
	return problems, nil
}

// stillInFile reads the row of the packet id outside any snapshot: whether
// its bytes are in its packet file now. A read whose snapshot named the
// file, and found it gone, asks: only a quarantined packet dropped since
// loses its file while its row exists, and its row then says so.
func (s *Store) stillInFile(ctx context.Context, id string) (bool, error) {
	var still bool
	err := s.read(ctx, func(db *sql.DB) error {
		return db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM packets p WHERE p.id = ? AND `+inFile+`)`, id).
			Scan(&still)
	})
	return still, err
}

// syncDir fsyncs the directory dir, so that the names created or removed
// in it are on disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
