package store

import "github.com/lienthong/lienthong/gateway"

// WritePacketFile writes p's file as AcceptDocument does before its
// transaction, and nothing else: a crash before the transaction, for the
// tests.
func WritePacketFile(s *Store, p gateway.NewPacket) error {
	_, err := s.files.write(p)
	return err
}

// PacketDir is the directory of the packet files of the database at path.
func PacketDir(path string) string { return packetDir(path) }
