package wire

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every decoding error wraps exactly one of them.
var (
	// ErrMalformed: the bytes do not follow the format (truncated, out of range, unknown type).
	ErrMalformed = errors.New("wire: malformed")
	// ErrVersion: the datagram has a protocol version this implementation does not speak.
	ErrVersion = errors.New("wire: unsupported version")
	// ErrNetwork: the datagram belongs to another network (network tag mismatch).
	ErrNetwork = errors.New("wire: foreign network")
	// ErrAuth: the datagram failed authentication, or its sealing does not match the local mode.
	ErrAuth = errors.New("wire: authentication failed")
	// ErrReplay: an authenticated datagram whose packet number was already seen or is too old.
	ErrReplay = errors.New("wire: replayed datagram")
)

// Detail errors are allocated once so that rejecting garbage (possibly a flood of it) costs no
// allocation; each wraps its class sentinel.
var (
	errTruncated      = malformed("truncated")
	errVarint         = malformed("invalid or non-minimal uvarint")
	errTooLong        = malformed("length exceeds limit")
	errMagic          = malformed("bad magic")
	errHeaderFlags    = malformed("reserved header flag set")
	errZeroSession    = malformed("zero sender session")
	errZeroPacket     = malformed("zero packet number")
	errFrameType      = malformed("unknown frame type")
	errAddrFamily     = malformed("unknown address family")
	errPeerCount      = malformed("too many peer entries")
	errDataFlags      = malformed("reserved DATA flag set")
	errZeroSeq        = malformed("reliable DATA with seq 0")
	errFragment       = malformed("fragment index/count out of range")
	errRangeCount     = malformed("too many ACK ranges")
	errRangeGap       = malformed("ACK range gap is zero")
	errRangeOverflow  = malformed("ACK range overflows uint64")
	errDuration       = malformed("duration overflows")
	errMessageKind    = malformed("unknown message kind")
	errFilterCount    = malformed("too many interest filters")
	errSealedTooShort = malformed("sealed body shorter than the tag")
	errTrailing       = malformed("trailing bytes after message")

	errWantSealed  = fmt.Errorf("%w: unsealed datagram on a keyed network", ErrAuth)
	errWantPlain   = fmt.Errorf("%w: sealed datagram but no network key configured", ErrAuth)
	errBadTag      = fmt.Errorf("%w: AEAD open failed", ErrAuth)
	errReplayed    = fmt.Errorf("%w: packet number seen or outside the window", ErrReplay)
	errTagMismatch = fmt.Errorf("%w: network tag mismatch", ErrNetwork)
	errVersion     = fmt.Errorf("%w: header version is not %d", ErrVersion, Version)
)

func malformed(what string) error { return fmt.Errorf("%w: %s", ErrMalformed, what) }
