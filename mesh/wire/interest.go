package wire

import (
	"encoding/binary"
	"strings"
)

// Limits of the INTEREST message.
const (
	MaxFilters   = 100000
	MaxFilterLen = 65535
)

// Interest is the complete interest set of the sender (message kind 2). A receiver replaces
// its previous view of the sender's interest when Version is newer.
type Interest struct {
	Version uint64
	Filters []string // MQTT topic filters, each at most MaxFilterLen bytes; at most MaxFilters
}

// InterestLen is the size AppendInterest adds.
func InterestLen(in *Interest) int {
	n := 1 + uvarintLen(in.Version) + uvarintLen(uint64(len(in.Filters)))
	for _, f := range in.Filters {
		n += stringLen(len(f))
	}
	return n
}

// AppendInterest appends the encoded message. It does not enforce limits; see ValidateInterest.
func AppendInterest(b []byte, in *Interest) []byte {
	b = append(b, KindInterest)
	b = binary.AppendUvarint(b, in.Version)
	b = binary.AppendUvarint(b, uint64(len(in.Filters)))
	for _, f := range in.Filters {
		b = appendString(b, f)
	}
	return b
}

// ValidateInterest reports whether the message would be accepted by a receiver.
func ValidateInterest(in *Interest) error {
	if len(in.Filters) > MaxFilters {
		return errFilterCount
	}
	for _, f := range in.Filters {
		if len(f) > MaxFilterLen {
			return errTooLong
		}
	}
	return nil
}

// ParseInterest decodes an INTEREST message. Memory is bounded by the input: the count is
// checked against the remaining bytes (each filter takes at least its 1-byte length) before
// anything is allocated, and all filters share one copied string, so the result costs two
// allocations however many filters there are. Trailing bytes are ErrMalformed.
func ParseInterest(b []byte) (Interest, error) {
	r := reader{b: b}
	kind, err := r.u8()
	if err != nil {
		return Interest{}, err
	}
	if kind != KindInterest {
		return Interest{}, errMessageKind
	}
	version, err := r.uvarint()
	if err != nil {
		return Interest{}, err
	}
	count, err := r.uvarint()
	if err != nil {
		return Interest{}, err
	}
	if count > MaxFilters {
		return Interest{}, errFilterCount
	}
	if count > uint64(r.remaining()) {
		return Interest{}, errTruncated
	}
	// First pass: validate and measure, so the second pass can copy into one string.
	start := r.off
	total := 0
	for range count {
		f, err := r.lenPrefixed(MaxFilterLen)
		if err != nil {
			return Interest{}, err
		}
		total += len(f)
	}
	if r.remaining() != 0 {
		return Interest{}, errTrailing
	}
	in := Interest{Version: version}
	if count == 0 {
		return in, nil
	}
	var sb strings.Builder
	sb.Grow(total)
	r.off = start
	for range count {
		f, _ := r.lenPrefixed(MaxFilterLen) // validated by the first pass
		sb.Write(f)
	}
	all := sb.String() // no copy: Builder hands over its buffer
	in.Filters = make([]string, 0, count)
	r.off = start
	pos := 0
	for range count {
		f, _ := r.lenPrefixed(MaxFilterLen)
		in.Filters = append(in.Filters, all[pos:pos+len(f)])
		pos += len(f)
	}
	return in, nil
}
