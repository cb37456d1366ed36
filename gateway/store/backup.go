package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"

	"modernc.org/sqlite"
)

// BackupStats tell what Backup copied.
type BackupStats struct {
	// DatabaseBytes is the size of the copy of the database.
	DatabaseBytes int64
	// Files and FileBytes are the packet files copied.
	Files     int
	FileBytes int64
	// Dropped are the quarantined packets whose files the live store
	// removed (dropping them from its quarantine) between the snapshot
	// and their copy: the copy drops them too.
	Dropped []string
}

// Backup makes a consistent copy of the store, which may be in use, to the
// new file dest, with the packet files it names in dest's -packets
// directory:
//
//   - the database, by VACUUM INTO, from one snapshot, while the gateway
//     goes on writing; the file is made 0600 and synced;
//   - exactly the packet files the snapshot's rows name, each copied,
//     hashed on the way and compared with its row's SHA-256 and size,
//     and synced, with the directory; a file written after the snapshot
//     is not copied (no row of the copy names it). A file is never
//     changed nor removed while its row says it is there, but for a
//     quarantined packet dropped since the snapshot: the copy drops it
//     too, audited;
//   - the copy is then opened as a store and checked (Check).
//
// dest and its -packets directory must not exist. What Backup made is
// removed again if it fails.
func (s *Store) Backup(ctx context.Context, dest string) (st BackupStats, err error) {
	st, err = s.backup(ctx, dest, nil)
	if err != nil {
		return BackupStats{}, fmt.Errorf("store: backup to %s: %w", dest, err)
	}
	return st, nil
}

// backup is Backup; snapshotted, if not nil, is called once the
// database is copied and before the packet files are (for the tests).
func (s *Store) backup(ctx context.Context, dest string, snapshotted func()) (st BackupStats, err error) {
	abs, err := filepath.Abs(dest)
	if err != nil {
		return st, err
	}
	if abs == s.path {
		return st, errors.New("that is the store itself")
	}
	files := packetDir(abs)
	for _, p := range []string{abs, files, abs + "-wal", abs + "-shm", abs + "-journal"} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			return st, fmt.Errorf("%s exists already", p)
		}
	}
	// An empty file of the store's mode, which VACUUM INTO fills (it
	// takes an empty file as a new one).
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return st, err
	}
	f.Close()
	madeFiles := false
	defer func() {
		if err != nil {
			for _, p := range []string{abs, abs + "-wal", abs + "-shm", abs + "-journal"} {
				os.Remove(p)
			}
			// Only a directory this call made: one that appeared since
			// the checks above is not Backup's to remove.
			if madeFiles {
				os.RemoveAll(files)
			}
		}
	}()
	if err := os.Mkdir(files, 0o700); err != nil {
		return st, err
	}
	madeFiles = true

	err = s.read(ctx, func(db *sql.DB) error {
		_, err := db.ExecContext(ctx, `VACUUM INTO ?`, abs)
		return err
	})
	if err != nil {
		return st, fmt.Errorf("VACUUM INTO: %w", err)
	}
	if st.DatabaseBytes, err = syncFile(abs); err != nil {
		return st, err
	}

	if snapshotted != nil {
		snapshotted()
	}
	named, err := namedFiles(ctx, abs)
	if err != nil {
		return st, fmt.Errorf("the copy's packet files: %w", err)
	}
	var dropped []string
	for _, n := range named {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		src, err := s.files.path(n.id)
		if err != nil {
			return st, err
		}
		err = copyPacketFile(src, filepath.Join(files, n.id), n)
		if errors.Is(err, os.ErrNotExist) {
			still, rerr := s.stillInFile(ctx, n.id)
			switch {
			case rerr != nil:
				return st, fmt.Errorf("packet %s: %w", n.id, rerr)
			case !still:
				dropped = append(dropped, n.id)
				continue
			}
		}
		if err != nil {
			return st, fmt.Errorf("packet %s: %w", n.id, err)
		}
		st.Files++
		st.FileBytes += n.size
	}
	if err := syncDir(files); err != nil {
		return st, err
	}
	if err := syncDir(filepath.Dir(abs)); err != nil {
		return st, err
	}

	c, err := Open(ctx, abs, Options{})
	if err != nil {
		return st, fmt.Errorf("open the copy: %w", err)
	}
	defer func() {
		if cerr := c.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("the copy: %w", cerr)
		}
	}()
	if err := c.dropInCopy(ctx, dropped); err != nil {
		return st, err
	}
	st.Dropped = dropped
	if err := c.Check(ctx); err != nil {
		var problems interface{ Unwrap() []error }
		if errors.As(err, &problems) {
			return st, &UnsoundCopyError{Problems: problems.Unwrap()}
		}
		return st, fmt.Errorf("the copy: %w", err)
	}
	return st, nil
}

// UnsoundCopyError is the error of a Backup whose copy, made, failed
// Check: the store copied has the problems too (but for a packet file
// altered, which Backup finds by its hash, and reports as an error of its
// own). The copy is removed.
type UnsoundCopyError struct {
	// Problems are those Check found, one error each.
	Problems []error
}

func (e *UnsoundCopyError) Error() string {
	return fmt.Sprintf("the copy is not sound: %v", errors.Join(e.Problems...))
}

// namedFile is a packet file a copy's row names.
type namedFile struct {
	id, sha256 string
	size       int64
}

// namedFiles lists the packet files the database at path names.
func namedFiles(ctx context.Context, path string) ([]namedFile, error) {
	c, err := sqlite.NewConnector(dsn(path, url.Values{"mode": {"ro"}}))
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT p.id, p.sha256, p.size FROM packets p WHERE `+inFile+` ORDER BY p.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var named []namedFile
	for rows.Next() {
		var n namedFile
		if err := rows.Scan(&n.id, &n.sha256, &n.size); err != nil {
			return nil, err
		}
		named = append(named, n)
	}
	return named, rows.Err()
}

// copyPacketFile copies the packet file src to the new file dst, hashing
// it on the way: it must be n's size and SHA-256. dst is synced.
func copyPacketFile(src, dst string, n namedFile) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(out, h), in)
	if err != nil {
		return err
	}
	if size != n.size {
		return fmt.Errorf("its file has %d bytes, its row says %d", size, n.size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != n.sha256 {
		return fmt.Errorf("its file's SHA-256 is %s, its row says %s", got, n.sha256)
	}
	return out.Sync()
}

// syncFile syncs the file at path and returns its size.
func syncFile(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return 0, err
	}
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// dropInCopy drops from the quarantine of s, a copy Backup made, the
// packets the live store dropped from its own after the snapshot.
func (s *Store) dropInCopy(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.update(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			d := droppedPacket{id: id}
			err := tx.QueryRowContext(ctx, `SELECT sha256, size, kept_at FROM quarantine_packets WHERE packet_id = ?`, id).
				Scan(&d.sha256, &d.size, &d.keptAt)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("packet %s: its file was removed since the snapshot, but it is not in quarantine", id)
			}
			if err != nil {
				return fmt.Errorf("packet %s: %w", id, err)
			}
			if _, err := s.dropQuarantined(ctx, tx, d, "dropped from the live store's quarantine during its backup"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("the copy: %w", err)
	}
	return nil
}
