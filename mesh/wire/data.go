package wire

import "encoding/binary"

// MaxFragCount bounds the fragments of one message (with 1400-byte datagrams, about 1.4 GB:
// the real limit is the receiver's reassembly budget).
const MaxFragCount = 1 << 20

// dataReliable is bit 0 of the DATA flags byte.
const dataReliable = 0x01

// Data carries one fragment of a message (frame type 0x03).
type Data struct {
	Reliable  bool   // sent on the reliable channel: Seq is present and will be ACKed
	Seq       uint64 // reliable sequence number (>= 1); 0 and not encoded when !Reliable
	MsgID     uint64 // message ID, unique per sender session
	FragIndex uint32 // fragment index, < FragCount
	FragCount uint32 // fragments in the message, 1..MaxFragCount
	Payload   []byte // fragment bytes; aliases the datagram when decoded
}

// EncodedLen is the size AppendTo adds, type byte included.
func (f *Data) EncodedLen() int {
	n := 1 + 1 + uvarintLen(f.MsgID) + uvarintLen(uint64(f.FragIndex)) + uvarintLen(uint64(f.FragCount)) +
		stringLen(len(f.Payload))
	if f.Reliable {
		n += uvarintLen(f.Seq)
	}
	return n
}

// DataOverhead is the largest EncodedLen of a DATA frame minus its payload length, for a payload
// of at most payloadLen bytes: a batcher can size fragments without building the frame.
func DataOverhead(payloadLen int) int {
	return 1 + 1 + 10 + 10 + 3 + 3 + uvarintLen(uint64(payloadLen))
}

// AppendTo appends the frame. It does not enforce limits; see Validate.
func (f *Data) AppendTo(b []byte) []byte {
	if f.Reliable {
		b = append(b, FrameData, dataReliable)
		b = binary.AppendUvarint(b, f.Seq)
	} else {
		b = append(b, FrameData, 0)
	}
	b = binary.AppendUvarint(b, f.MsgID)
	b = binary.AppendUvarint(b, uint64(f.FragIndex))
	b = binary.AppendUvarint(b, uint64(f.FragCount))
	return appendBytes(b, f.Payload)
}

// Validate reports whether the frame would be accepted by a receiver.
func (f *Data) Validate() error {
	if f.Reliable && f.Seq == 0 {
		return errZeroSeq
	}
	if f.FragCount == 0 || f.FragCount > MaxFragCount || f.FragIndex >= f.FragCount {
		return errFragment
	}
	return nil
}

// decode reads the fields after the type byte; Payload aliases r's buffer.
func (f *Data) decode(r *reader) error {
	flags, err := r.u8()
	if err != nil {
		return err
	}
	if flags&^dataReliable != 0 {
		return errDataFlags
	}
	f.Reliable = flags&dataReliable != 0
	f.Seq = 0
	if f.Reliable {
		if f.Seq, err = r.uvarint(); err != nil {
			return err
		}
		if f.Seq == 0 {
			return errZeroSeq
		}
	}
	if f.MsgID, err = r.uvarint(); err != nil {
		return err
	}
	idx, err := r.uvarint()
	if err != nil {
		return err
	}
	count, err := r.uvarint()
	if err != nil {
		return err
	}
	if count == 0 || count > MaxFragCount || idx >= count {
		return errFragment
	}
	f.FragIndex, f.FragCount = uint32(idx), uint32(count)
	n, err := r.uvarint()
	if err != nil {
		return err
	}
	f.Payload, err = r.take(n)
	return err
}
