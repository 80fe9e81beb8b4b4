package wire

import (
	"encoding/binary"
	"net/netip"
)

// MaxPeerEntries bounds the entries of one PEERS frame.
const MaxPeerEntries = 64

// PeerEntry is one known peer in a PEERS frame.
type PeerEntry struct {
	ID      [16]byte
	Session uint64
	Addr    netip.AddrPort
}

// Peers is the rendezvous reply (frame type 0x02): peers the sender knows.
type Peers struct {
	Entries []PeerEntry // at most MaxPeerEntries
}

// EncodedLen is the size AppendTo adds, type byte included.
func (f *Peers) EncodedLen() int {
	n := 1 + uvarintLen(uint64(len(f.Entries)))
	for i := range f.Entries {
		n += 16 + 8 + addrLen(f.Entries[i].Addr)
	}
	return n
}

// AppendTo appends the frame. It does not enforce limits; see Validate.
func (f *Peers) AppendTo(b []byte) []byte {
	b = append(b, FramePeers)
	b = binary.AppendUvarint(b, uint64(len(f.Entries)))
	for i := range f.Entries {
		e := &f.Entries[i]
		b = append(b, e.ID[:]...)
		b = binary.BigEndian.AppendUint64(b, e.Session)
		b = appendAddr(b, e.Addr)
	}
	return b
}

// Validate reports whether the frame would be accepted by a receiver.
func (f *Peers) Validate() error {
	if len(f.Entries) > MaxPeerEntries {
		return errPeerCount
	}
	return nil
}

// decode reads the fields after the type byte into f.Entries, reusing its backing array.
func (f *Peers) decode(r *reader) error {
	n, err := r.uvarint()
	if err != nil {
		return err
	}
	if n > MaxPeerEntries {
		return errPeerCount
	}
	f.Entries = f.Entries[:0]
	for range n {
		var e PeerEntry
		id, err := r.take(16)
		if err != nil {
			return err
		}
		e.ID = [16]byte(id)
		if e.Session, err = r.u64(); err != nil {
			return err
		}
		if e.Addr, err = r.addr(); err != nil {
			return err
		}
		f.Entries = append(f.Entries, e)
	}
	return nil
}
