package wire

import (
	"encoding/binary"
	"time"
)

// Limits of the PUBLISH message.
const (
	MaxTopicLen = 65535
	MaxTypeLen  = 255
	MaxMetaLen  = 65535
)

// Publish is an application message (message kind 1).
type Publish struct {
	Topic   string        // at most MaxTopicLen bytes
	Type    string        // payload type name; at most MaxTypeLen bytes
	Expiry  time.Duration // remaining lifetime when sent, in whole milliseconds; 0 = never
	Meta    []byte        // opaque metadata (MQTT properties); at most MaxMetaLen bytes
	Payload []byte        // the rest of the message
}

// PublishLen is the size AppendPublish adds.
func PublishLen(p *Publish) int {
	return 1 + stringLen(len(p.Topic)) + stringLen(len(p.Type)) +
		uvarintLen(durationUnits(p.Expiry, time.Millisecond)) + stringLen(len(p.Meta)) + len(p.Payload)
}

// AppendPublish appends the encoded message. It does not enforce limits; see ValidatePublish.
func AppendPublish(b []byte, p *Publish) []byte {
	b = append(b, KindPublish)
	b = appendString(b, p.Topic)
	b = appendString(b, p.Type)
	b = binary.AppendUvarint(b, durationUnits(p.Expiry, time.Millisecond))
	b = appendBytes(b, p.Meta)
	return append(b, p.Payload...)
}

// ValidatePublish reports whether the message would be accepted by a receiver.
func ValidatePublish(p *Publish) error {
	if len(p.Topic) > MaxTopicLen || len(p.Type) > MaxTypeLen || len(p.Meta) > MaxMetaLen {
		return errTooLong
	}
	return nil
}

// ParsePublish decodes a PUBLISH message. Topic and Type are copied; Meta and Payload alias b
// (nil when empty).
func ParsePublish(b []byte) (Publish, error) {
	r := reader{b: b}
	kind, err := r.u8()
	if err != nil {
		return Publish{}, err
	}
	if kind != KindPublish {
		return Publish{}, errMessageKind
	}
	topic, err := r.lenPrefixed(MaxTopicLen)
	if err != nil {
		return Publish{}, err
	}
	typ, err := r.lenPrefixed(MaxTypeLen)
	if err != nil {
		return Publish{}, err
	}
	expiry, err := r.millis()
	if err != nil {
		return Publish{}, err
	}
	meta, err := r.lenPrefixed(MaxMetaLen)
	if err != nil {
		return Publish{}, err
	}
	p := Publish{Topic: string(topic), Type: string(typ), Expiry: expiry}
	if len(meta) > 0 {
		p.Meta = meta
	}
	if r.remaining() > 0 {
		p.Payload = b[r.off:]
	}
	return p, nil
}
