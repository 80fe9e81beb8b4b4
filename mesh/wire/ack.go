package wire

import (
	"encoding/binary"
	"time"
)

// MaxAckRanges bounds the selective ranges of one ACK frame.
const MaxAckRanges = 32

// AckRange is an inclusive range of received reliable sequence numbers.
type AckRange struct{ Lo, Hi uint64 }

// Ack acknowledges reliable DATA (frame type 0x04).
type Ack struct {
	Cumulative uint64        // every seq <= Cumulative was received; 0 = none yet
	Delay      time.Duration // time the receiver held the ACK back; sent in whole microseconds
	// Ranges received above Cumulative: ascending, with at least one missing seq before each
	// range (so the first Lo >= Cumulative+2). At most MaxAckRanges.
	Ranges []AckRange
}

// EncodedLen is the size AppendTo adds, type byte included.
func (f *Ack) EncodedLen() int {
	n := 1 + uvarintLen(f.Cumulative) + uvarintLen(durationUnits(f.Delay, time.Microsecond)) +
		uvarintLen(uint64(len(f.Ranges)))
	prev := f.Cumulative
	for _, r := range f.Ranges {
		n += uvarintLen(r.Lo-prev-1) + uvarintLen(r.Hi-r.Lo)
		prev = r.Hi
	}
	return n
}

// AppendTo appends the frame, encoding each range relative to the previous one. It does not
// check the ranges; see Validate.
func (f *Ack) AppendTo(b []byte) []byte {
	b = append(b, FrameAck)
	b = binary.AppendUvarint(b, f.Cumulative)
	b = binary.AppendUvarint(b, durationUnits(f.Delay, time.Microsecond))
	b = binary.AppendUvarint(b, uint64(len(f.Ranges)))
	prev := f.Cumulative
	for _, r := range f.Ranges {
		b = binary.AppendUvarint(b, r.Lo-prev-1) // gap: missing seqs before this range
		b = binary.AppendUvarint(b, r.Hi-r.Lo)
		prev = r.Hi
	}
	return b
}

// Validate reports whether the frame would be accepted by a receiver.
func (f *Ack) Validate() error {
	if len(f.Ranges) > MaxAckRanges {
		return errRangeCount
	}
	prev := f.Cumulative
	for _, r := range f.Ranges {
		if r.Lo < prev || r.Lo-prev < 2 {
			return errRangeGap
		}
		if r.Hi < r.Lo {
			return errRangeOverflow
		}
		prev = r.Hi
	}
	return nil
}

// decode reads the fields after the type byte into f, reusing f.Ranges' backing array.
func (f *Ack) decode(r *reader) error {
	var err error
	if f.Cumulative, err = r.uvarint(); err != nil {
		return err
	}
	if f.Delay, err = r.duration(time.Microsecond); err != nil {
		return err
	}
	n, err := r.uvarint()
	if err != nil {
		return err
	}
	if n > MaxAckRanges {
		return errRangeCount
	}
	f.Ranges = f.Ranges[:0]
	prev := f.Cumulative
	for range n {
		gap, err := r.uvarint()
		if err != nil {
			return err
		}
		lenMinus1, err := r.uvarint()
		if err != nil {
			return err
		}
		if gap == 0 {
			return errRangeGap
		}
		// lo = prev + 1 + gap and hi = lo + lenMinus1, without wrapping around.
		if gap >= ^uint64(0)-prev {
			return errRangeOverflow
		}
		lo := prev + 1 + gap
		if lenMinus1 > ^uint64(0)-lo {
			return errRangeOverflow
		}
		hi := lo + lenMinus1
		f.Ranges = append(f.Ranges, AckRange{Lo: lo, Hi: hi})
		prev = hi
	}
	return nil
}
