package wire

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"time"
)

// reader walks a byte slice with bounds checks. It is a value type so that it lives on the stack.
type reader struct {
	b   []byte
	off int
}

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) u8() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errTruncated
	}
	v := r.b[r.off]
	r.off++
	return v, nil
}

func (r *reader) u16() (uint16, error) {
	if r.remaining() < 2 {
		return 0, errTruncated
	}
	v := binary.BigEndian.Uint16(r.b[r.off:])
	r.off += 2
	return v, nil
}

func (r *reader) u64() (uint64, error) {
	if r.remaining() < 8 {
		return 0, errTruncated
	}
	v := binary.BigEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v, nil
}

// uvarint reads an unsigned LEB128 value. Non-minimal encodings (a trailing 0x00 group) are
// rejected so that every value has exactly one encoding: decode(encode(x)) and
// encode(decode(b)) both round-trip, which keeps golden vectors and fuzzing honest.
func (r *reader) uvarint() (uint64, error) {
	if r.off < len(r.b) && r.b[r.off] < 0x80 { // fast path: one byte
		v := r.b[r.off]
		r.off++
		return uint64(v), nil
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n == 0 {
		return 0, errTruncated
	}
	if n < 0 || r.b[r.off+n-1] == 0 {
		return 0, errVarint
	}
	r.off += n
	return v, nil
}

// take returns the next n bytes, aliasing the input.
func (r *reader) take(n uint64) ([]byte, error) {
	if n > uint64(r.remaining()) {
		return nil, errTruncated
	}
	v := r.b[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return v, nil
}

// lenPrefixed reads a uvarint length (at most max) and that many bytes, aliasing the input.
func (r *reader) lenPrefixed(max uint64) ([]byte, error) {
	n, err := r.uvarint()
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, errTooLong
	}
	return r.take(n)
}

// millis reads a uvarint count of milliseconds that must fit a time.Duration.
func (r *reader) millis() (time.Duration, error) { return r.duration(time.Millisecond) }

func (r *reader) duration(unit time.Duration) (time.Duration, error) {
	v, err := r.uvarint()
	if err != nil {
		return 0, err
	}
	if v > uint64(maxDuration/unit) {
		return 0, errDuration
	}
	return time.Duration(v) * unit, nil
}

const maxDuration = time.Duration(1<<63 - 1)

// Address families on the wire.
const (
	addrFamily4 = 4
	addrFamily6 = 6
)

func (r *reader) addr() (netip.AddrPort, error) {
	fam, err := r.u8()
	if err != nil {
		return netip.AddrPort{}, err
	}
	var ip netip.Addr
	switch fam {
	case addrFamily4:
		b, err := r.take(4)
		if err != nil {
			return netip.AddrPort{}, err
		}
		ip = netip.AddrFrom4([4]byte(b))
	case addrFamily6:
		b, err := r.take(16)
		if err != nil {
			return netip.AddrPort{}, err
		}
		ip = netip.AddrFrom16([16]byte(b))
	default:
		return netip.AddrPort{}, errAddrFamily
	}
	port, err := r.u16()
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(ip, port), nil
}

// uvarintLen is the encoded size of v.
func uvarintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func stringLen(n int) int { return uvarintLen(uint64(n)) + n }

// durationUnits converts d to whole units for the wire; negative durations are sent as 0.
func durationUnits(d, unit time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	return uint64(d / unit)
}

// appendAddr encodes an address. IPv4 (not IPv4-mapped IPv6) uses family 4, everything else
// family 6; a zone is not carried. The invalid zero AddrPort is encoded as 0.0.0.0 with its port.
func appendAddr(b []byte, a netip.AddrPort) []byte {
	ip := a.Addr()
	switch {
	case ip.Is4():
		b = append(b, addrFamily4)
		v := ip.As4()
		b = append(b, v[:]...)
	case ip.Is6():
		b = append(b, addrFamily6)
		v := ip.As16()
		b = append(b, v[:]...)
	default:
		b = append(b, addrFamily4, 0, 0, 0, 0)
	}
	return binary.BigEndian.AppendUint16(b, a.Port())
}

func addrLen(a netip.AddrPort) int {
	if a.Addr().Is6() {
		return 1 + 16 + 2
	}
	return 1 + 4 + 2
}
