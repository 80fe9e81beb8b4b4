package wire

import "encoding/binary"

// INTEREST_ACK (message kind 0x03): "I have applied your interest set of this version". The
// sender of an INTEREST waits for it, not for the transport ACK, before it tells a subscriber
// that its subscription is live everywhere: a transport ACK only says the message arrived, and it
// may still wait behind other messages before it is applied.

// AppendInterestAck appends an INTEREST_ACK message confirming version.
func AppendInterestAck(b []byte, version uint64) []byte {
	return binary.AppendUvarint(append(b, KindInterestAck), version)
}

// ParseInterestAck decodes an INTEREST_ACK message.
func ParseInterestAck(b []byte) (uint64, error) {
	r := reader{b: b}
	kind, err := r.u8()
	if err != nil {
		return 0, err
	}
	if kind != KindInterestAck {
		return 0, errMessageKind
	}
	v, err := r.uvarint()
	if err != nil {
		return 0, err
	}
	if r.remaining() != 0 {
		return 0, errTrailing
	}
	return v, nil
}
