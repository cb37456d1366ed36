package store

import "context"

// BackupSnapshotted is Backup, calling snapshotted between the copy of
// the database and those of the packet files.
func BackupSnapshotted(s *Store, ctx context.Context, dest string, snapshotted func()) (BackupStats, error) {
	return s.backup(ctx, dest, snapshotted)
}
