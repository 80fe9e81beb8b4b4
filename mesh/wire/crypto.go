package wire

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

const (
	// TagLen is the AEAD tag appended to a sealed body.
	TagLen = 16
	// MinKeyLen is the shortest accepted network key.
	MinKeyLen = 16
	// keyInfo starts the HKDF info; sender ID and session follow.
	keyInfo = "glue-mqtt v1 datagram"
)

// Crypto seals and opens datagrams of one network. Without a key it runs in plaintext mode:
// datagrams carry no SEALED flag and are not authenticated.
//
// Concurrency: Seal and Open use disjoint state, so one goroutine may Seal while another Opens,
// but neither method may be called from two goroutines at once (no locks on the hot path).
type Crypto struct {
	tag  uint32
	salt [32]byte
	key  []byte // nil: plaintext mode

	// Seal state: the AEAD of the last sealing sender (normally the local session only).
	sealFor   senderKey
	sealAEAD  cipher.AEAD
	sealNonce [12]byte
	sealAD    [HeaderLen]byte // the header, copied: cipher.AEAD forbids dst/additionalData overlap

	// Open state.
	senders   senderCache
	openNonce [12]byte
}

// NewCrypto prepares sealing for networkID. An empty key selects plaintext mode; otherwise the
// key must be at least MinKeyLen bytes (use 32 random bytes).
func NewCrypto(networkID string, key []byte) (*Crypto, error) {
	if len(key) > 0 && len(key) < MinKeyLen {
		return nil, fmt.Errorf("wire: network key is %d bytes, need at least %d", len(key), MinKeyLen)
	}
	c := &Crypto{salt: networkHash(networkID), senders: newSenderCache(MaxSenders)}
	c.tag = binary.BigEndian.Uint32(c.salt[:4])
	if len(key) > 0 {
		c.key = append([]byte(nil), key...)
	}
	return c, nil
}

// Keyed reports whether datagrams are sealed.
func (c *Crypto) Keyed() bool { return c.key != nil }

// Overhead is the number of bytes sealing adds after the frames (the tag; 0 in plaintext mode).
// A datagram is HeaderLen + len(frames) + Overhead() bytes.
func (c *Crypto) Overhead() int {
	if c.key == nil {
		return 0
	}
	return TagLen
}

// deriveKey is the key schedule of one sender incarnation:
// HKDF-SHA256(networkKey, salt, "glue-mqtt v1 datagram" || sender || session BE, 32).
func deriveKey(networkKey, salt []byte, sender [16]byte, session uint64) ([]byte, error) {
	info := make([]byte, 0, len(keyInfo)+16+8)
	info = append(info, keyInfo...)
	info = append(info, sender[:]...)
	info = binary.BigEndian.AppendUint64(info, session)
	k, err := hkdf.Key(sha256.New, networkKey, salt, string(info), 32)
	if err != nil {
		return nil, fmt.Errorf("wire: derive sender key: %w", err)
	}
	return k, nil
}

func (c *Crypto) newAEAD(k senderKey) (cipher.AEAD, error) {
	key, err := deriveKey(c.key, c.salt[:], k.id, k.session)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("wire: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("wire: %w", err)
	}
	return aead, nil
}

// putNonce writes the 12-byte nonce: 4 zero bytes, then the packet number big-endian. The key
// is per sender session and packet numbers never repeat within a session, so nonces are unique.
func putNonce(n *[12]byte, pn uint64) {
	binary.BigEndian.PutUint64(n[4:], pn)
}

// Seal appends a complete datagram to dst: the header h, with NetworkTag set to this network's
// tag and the SEALED flag set when keyed (cleared otherwise), followed by the frames, encrypted
// and authenticated with the header as additional data when keyed. frames must not overlap
// the spare capacity of dst. The caller guarantees a fresh PacketNumber per datagram.
func (c *Crypto) Seal(dst []byte, h Header, frames []byte) []byte {
	h.NetworkTag = c.tag
	if c.key == nil {
		h.Flags &^= FlagSealed
		return append(AppendHeader(dst, h), frames...)
	}
	h.Flags |= FlagSealed
	aead := c.sealer(h)
	AppendHeader(c.sealAD[:0], h)
	dst = append(dst, c.sealAD[:]...)
	putNonce(&c.sealNonce, h.PacketNumber)
	return aead.Seal(dst, c.sealNonce[:], frames, c.sealAD[:])
}

// SealInPlace seals a datagram built in place: datagram[:HeaderLen] is reserved for the header
// (overwritten from h) and datagram[HeaderLen:] holds the frames, which are encrypted in place.
// The tag is appended, so give datagram Overhead() bytes of spare capacity to avoid a copy.
// This is the zero-copy path for a batcher that appends frames after a reserved header.
// A buffer shorter than HeaderLen is taken as a datagram without frames.
func (c *Crypto) SealInPlace(datagram []byte, h Header) []byte {
	if len(datagram) < HeaderLen {
		datagram = append(datagram[:0], make([]byte, HeaderLen)...)
	}
	h.NetworkTag = c.tag
	if c.key == nil {
		h.Flags &^= FlagSealed
		AppendHeader(datagram[:0], h)
		return datagram
	}
	h.Flags |= FlagSealed
	aead := c.sealer(h)
	// AEAD.Seal writes in place only if the tag fits in the capacity; otherwise it would
	// allocate and leave the header behind, so grow first.
	datagram = slices.Grow(datagram, TagLen)
	AppendHeader(datagram[:0], h)
	putNonce(&c.sealNonce, h.PacketNumber)
	frames := datagram[HeaderLen:]
	sealed := aead.Seal(frames[:0], c.sealNonce[:], frames, datagram[:HeaderLen])
	return datagram[:HeaderLen+len(sealed)]
}

// sealer returns the AEAD of h's sender incarnation, deriving it on change. The local key never
// fails to derive (valid length, SHA-256), so an error here is an invariant violation.
func (c *Crypto) sealer(h Header) cipher.AEAD {
	k := senderKey{id: h.Sender, session: h.SenderSession}
	if c.sealAEAD == nil || c.sealFor != k {
		aead, err := c.newAEAD(k)
		if err != nil {
			panic(err) // unreachable: the key length was checked in NewCrypto
		}
		c.sealFor, c.sealAEAD = k, aead
	}
	return c.sealAEAD
}

// Open checks a received datagram and returns its header and plaintext frames.
//
// Checks, in order: magic, version (ErrVersion), header fields (ErrMalformed), network tag
// (ErrNetwork), sealing mode (ErrAuth: keyed networks accept only SEALED datagrams, plaintext
// ones only unsealed), authentication (ErrAuth), and for sealed datagrams the replay window
// (ErrReplay) — after authentication, so forged datagrams cannot advance or poison it.
//
// Open decrypts in place: the returned frames alias datagram, whose contents are overwritten
// (also on error). It does not check DestSession or drop the local endpoint's own datagrams;
// that is the caller's job.
func (c *Crypto) Open(datagram []byte) (Header, []byte, error) {
	h, body, err := ParseHeader(datagram)
	if err != nil {
		return Header{}, nil, err
	}
	if h.NetworkTag != c.tag {
		return Header{}, nil, errTagMismatch
	}
	sealed := h.Flags&FlagSealed != 0
	if c.key == nil {
		if sealed {
			return Header{}, nil, errWantPlain
		}
		return h, body, nil
	}
	if !sealed {
		return Header{}, nil, errWantSealed
	}
	if len(body) < TagLen {
		return Header{}, nil, errSealedTooShort
	}
	k := senderKey{id: h.Sender, session: h.SenderSession}
	state := c.senders.get(k)
	var aead cipher.AEAD
	if state != nil {
		aead = state.aead
	} else if aead, err = c.newAEAD(k); err != nil {
		return Header{}, nil, errors.Join(errBadTag, err)
	}
	putNonce(&c.openNonce, h.PacketNumber)
	frames, err := aead.Open(body[:0], c.openNonce[:], body, datagram[:HeaderLen])
	if err != nil {
		return Header{}, nil, errBadTag
	}
	if state == nil {
		state = c.senders.add(k, aead) // only authenticated senders take a cache slot
	}
	if !state.replay.accept(h.PacketNumber) {
		return Header{}, nil, errReplayed
	}
	return h, frames, nil
}
