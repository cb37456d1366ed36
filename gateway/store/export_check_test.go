package store

import (
	"context"

	"github.com/lienthong/lienthong/gateway"
)

// CheckSnapshotted is CheckWith, calling snapshotted once its snapshot is
// taken and before the packet files are checked.
func CheckSnapshotted(ctx context.Context, s *Store, opts CheckOptions, snapshotted func()) error {
	return s.checkWith(ctx, opts, snapshotted)
}

// PacketRowRead is Packet, calling rowRead once a large packet's row is
// read and before its chunks or its file are.
func PacketRowRead(ctx context.Context, s *Store, id string, rowRead func()) (*gateway.Packet, error) {
	return s.packet(ctx, id, rowRead)
}
