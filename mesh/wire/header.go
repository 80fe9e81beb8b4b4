package wire

import (
	"crypto/sha256"
	"encoding/binary"
)

const (
	// HeaderLen is the size of the fixed datagram header.
	HeaderLen = 47
	// Version is the protocol version written in, and required of, every header.
	Version = 1
	// Magic is the first byte of every datagram ('G').
	Magic = 0x47
	// FlagSealed marks a body that is AES-256-GCM ciphertext plus tag.
	FlagSealed = 0x01
)

// networkLabel prefixes the network ID for both the tag and the key-derivation salt.
const networkLabel = "glue-mqtt network\x00"

// Header is the fixed datagram header.
type Header struct {
	Flags         uint8    // FlagSealed or 0
	NetworkTag    uint32   // NetworkTag(networkID): a cheap filter, not a security feature
	Sender        [16]byte // sender endpoint ID (stable role ID)
	SenderSession uint64   // random per boot, nonzero
	DestSession   uint64   // receiver's session, or 0 for "any" (beacons, peer lists)
	PacketNumber  uint64   // per sender session, starting at 1; the AEAD nonce
}

// networkHash is SHA-256(networkLabel || networkID): its first 4 bytes are the network tag and
// the whole hash is the HKDF salt.
func networkHash(networkID string) [32]byte {
	h := sha256.New()
	h.Write([]byte(networkLabel))
	h.Write([]byte(networkID))
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// NetworkTag returns the 4-byte tag of a network ID (first 4 bytes of its network hash).
func NetworkTag(networkID string) uint32 {
	sum := networkHash(networkID)
	return binary.BigEndian.Uint32(sum[:4])
}

// AppendHeader appends the 47-byte encoding of h. Fields are written as given; Crypto.Seal
// fills in NetworkTag and the SEALED flag itself.
func AppendHeader(b []byte, h Header) []byte {
	b = append(b, Magic, Version, h.Flags)
	b = binary.BigEndian.AppendUint32(b, h.NetworkTag)
	b = append(b, h.Sender[:]...)
	b = binary.BigEndian.AppendUint64(b, h.SenderSession)
	b = binary.BigEndian.AppendUint64(b, h.DestSession)
	return binary.BigEndian.AppendUint64(b, h.PacketNumber)
}

// ParseHeader decodes the header and returns the body, which aliases b. The version is checked
// before the length so that a future version with another header size is reported as
// ErrVersion rather than ErrMalformed. It does not check the network tag (see Crypto.Open).
func ParseHeader(b []byte) (h Header, body []byte, err error) {
	if len(b) < 1 || b[0] != Magic {
		return Header{}, nil, errMagic
	}
	if len(b) < 2 {
		return Header{}, nil, errTruncated
	}
	if b[1] != Version {
		return Header{}, nil, errVersion
	}
	if len(b) < HeaderLen {
		return Header{}, nil, errTruncated
	}
	h.Flags = b[2]
	if h.Flags&^FlagSealed != 0 {
		return Header{}, nil, errHeaderFlags
	}
	h.NetworkTag = binary.BigEndian.Uint32(b[3:7])
	h.Sender = [16]byte(b[7:23])
	h.SenderSession = binary.BigEndian.Uint64(b[23:31])
	h.DestSession = binary.BigEndian.Uint64(b[31:39])
	h.PacketNumber = binary.BigEndian.Uint64(b[39:47])
	if h.SenderSession == 0 {
		return Header{}, nil, errZeroSession
	}
	if h.PacketNumber == 0 {
		return Header{}, nil, errZeroPacket
	}
	return h, b[HeaderLen:], nil
}
