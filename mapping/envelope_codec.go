package mapping

import (
	"encoding/binary"
	"fmt"
)

// Encoding, format version 1 (all integers big-endian):
//
//	version  1 byte  = 1
//	flags    1 byte  bit 0 retain, and one bit per present optional field:
//	                 1 payload format, 2 message expiry, 3 content type, 4 response topic,
//	                 5 correlation data, 6 user properties; bit 7 is reserved and must be 0
//	qos      1 byte  0..2
//	protocol 1 byte  ProtocolVersion
//	then the present optional fields, in flag order:
//	payload format  1 byte
//	message expiry  4 bytes
//	strings, data   2-byte length + bytes, length >= 1 (empty means absent, so the flag is clear)
//	user properties 2-byte count >= 1, then per property key and value as 2-byte length + bytes
//
// The format is canonical: every Envelope has exactly one encoding, and DecodeEnvelope rejects
// anything else (reserved bits, empty present fields, trailing bytes). A later format bumps the
// version byte.
const envelopeVersion = 1

const (
	flagRetain = 1 << iota
	flagPayloadFormat
	flagMessageExpiry
	flagContentType
	flagResponseTopic
	flagCorrelationData
	flagUser
	flagReserved
)

const headerLen = 4

// poison is what EncodeEnvelope writes for an invalid Envelope: a version-1 header with the
// reserved flag set, which DecodeEnvelope rejects. Writing a length that does not fit its field
// instead would desynchronise the decoder and could yield a wrong but valid-looking envelope.
var poison = []byte{envelopeVersion, flagReserved, 0, 0}

// EncodeEnvelope appends the encoding of e to dst and returns the extended slice. If e fails
// Validate, it appends a marker that DecodeEnvelope rejects; use MarshalEnvelope to get the error.
func EncodeEnvelope(dst []byte, e Envelope) []byte {
	if e.Validate() != nil {
		return append(dst, poison...)
	}
	var flags byte
	if e.Retain {
		flags |= flagRetain
	}
	if e.PayloadFormat != nil {
		flags |= flagPayloadFormat
	}
	if e.MessageExpiry != nil {
		flags |= flagMessageExpiry
	}
	if e.ContentType != "" {
		flags |= flagContentType
	}
	if e.ResponseTopic != "" {
		flags |= flagResponseTopic
	}
	if len(e.CorrelationData) > 0 {
		flags |= flagCorrelationData
	}
	if len(e.User) > 0 {
		flags |= flagUser
	}
	dst = append(dst, envelopeVersion, flags, e.QoS, e.ProtocolVersion)
	if e.PayloadFormat != nil {
		dst = append(dst, *e.PayloadFormat)
	}
	if e.MessageExpiry != nil {
		dst = binary.BigEndian.AppendUint32(dst, *e.MessageExpiry)
	}
	if e.ContentType != "" {
		dst = appendString(dst, e.ContentType)
	}
	if e.ResponseTopic != "" {
		dst = appendString(dst, e.ResponseTopic)
	}
	if len(e.CorrelationData) > 0 {
		dst = appendString(dst, string(e.CorrelationData))
	}
	if len(e.User) > 0 {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(e.User)))
		for _, p := range e.User {
			dst = appendString(dst, p.Key)
			dst = appendString(dst, p.Val)
		}
	}
	return dst
}

// MarshalEnvelope is EncodeEnvelope that reports an invalid Envelope instead of encoding a marker.
func MarshalEnvelope(dst []byte, e Envelope) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return dst, err
	}
	return EncodeEnvelope(dst, e), nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// DecodeEnvelope decodes bytes received from the mesh. It never panics, rejects unknown versions,
// non-canonical encodings and property values MQTT forbids (a *PropertyError), and allocates at most about len(b) bytes plus one slice header per
// user property, since every length is checked against the bytes actually present.
func DecodeEnvelope(b []byte) (Envelope, error) {
	if len(b) < headerLen {
		return Envelope{}, fmt.Errorf("mapping: envelope of %d bytes, need %d: %w", len(b), headerLen, ErrInvalidEnvelope)
	}
	if b[0] != envelopeVersion {
		return Envelope{}, fmt.Errorf("mapping: envelope version %d, want %d: %w", b[0], envelopeVersion, ErrInvalidEnvelope)
	}
	flags := b[1]
	if flags&flagReserved != 0 {
		return Envelope{}, fmt.Errorf("mapping: envelope flags %#x use reserved bits: %w", flags, ErrInvalidEnvelope)
	}
	e := Envelope{QoS: b[2], ProtocolVersion: b[3], Retain: flags&flagRetain != 0}
	if e.QoS > 2 {
		return Envelope{}, fmt.Errorf("mapping: envelope QoS %d: %w", e.QoS, ErrInvalidEnvelope)
	}
	r := reader{b: b[headerLen:]}
	if flags&flagPayloadFormat != 0 {
		v := r.bytes(1, "payload format")
		if r.err == nil {
			format := v[0] // a copy: the Envelope must not alias the input
			e.PayloadFormat = &format
		}
	}
	if flags&flagMessageExpiry != 0 {
		v := r.bytes(4, "message expiry")
		if r.err == nil {
			secs := binary.BigEndian.Uint32(v)
			e.MessageExpiry = &secs
		}
	}
	if flags&flagContentType != 0 {
		e.ContentType = string(r.field("content type"))
	}
	if flags&flagResponseTopic != 0 {
		e.ResponseTopic = string(r.field("response topic"))
	}
	if flags&flagCorrelationData != 0 {
		if v := r.field("correlation data"); r.err == nil {
			e.CorrelationData = append([]byte(nil), v...)
		}
	}
	if flags&flagUser != 0 {
		e.User = r.userProperties()
	}
	if r.err == nil && len(r.b) > 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return Envelope{}, r.err
	}
	// A peer is a network input: properties MQTT forbids never reach the local broker.
	if err := e.validateProperties(); err != nil {
		return Envelope{}, err
	}
	return e, nil
}

// reader consumes an encoded envelope; after the first error every read returns nil.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("mapping: envelope: "+format+": %w", append(args, ErrInvalidEnvelope)...)
	}
}

func (r *reader) bytes(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.fail("%s: need %d bytes, have %d", what, n, len(r.b))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) uint16(what string) int {
	v := r.bytes(2, what)
	if v == nil {
		return 0
	}
	return int(binary.BigEndian.Uint16(v))
}

// string reads a length-prefixed value; the two-byte length bounds it to MaxStringLen.
func (r *reader) string(what string) []byte {
	return r.bytes(r.uint16(what), what)
}

// field reads a present optional value, which the canonical encoding never leaves empty.
func (r *reader) field(what string) []byte {
	v := r.string(what)
	if r.err == nil && len(v) == 0 {
		r.fail("%s: present but empty", what)
	}
	return v
}

func (r *reader) userProperties() []UserProperty {
	n := r.uint16("user property count")
	if r.err != nil {
		return nil
	}
	// Each property takes at least 4 bytes, so a count the input cannot hold is rejected before
	// anything is allocated.
	switch {
	case n == 0:
		r.fail("user properties present but empty")
	case n > MaxUserProperties:
		r.fail("%d user properties, limit %d", n, MaxUserProperties)
	case n > len(r.b)/4:
		r.fail("%d user properties in %d bytes", n, len(r.b))
	}
	if r.err != nil {
		return nil
	}
	props := make([]UserProperty, 0, n)
	for range n {
		k := r.string("user property key")
		v := r.string("user property value")
		if r.err != nil {
			return nil
		}
		props = append(props, UserProperty{Key: string(k), Val: string(v)})
	}
	return props
}
